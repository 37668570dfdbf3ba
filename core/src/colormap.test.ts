import {
  ATTENTION_RAMP,
  INFERNO,
  colourAt,
  colourNodes,
  cssGradient,
  lightness,
  opacityNodes,
  rampAt,
  type Colormap,
} from './colormap';
import { InputError } from './errors';

describe('the attention colormap', () => {
  it('is inferno: 256 sRGB entries from near-black to pale yellow', () => {
    expect(INFERNO.name).toBe('inferno');
    expect(INFERNO.colours).toHaveLength(256);
    for (const colour of INFERNO.colours) for (const c of colour) expect(c >= 0 && c <= 1).toBe(true);
    expect(lightness(INFERNO.colours[0])).toBeLessThan(2);
    expect(lightness(INFERNO.colours[255])).toBeGreaterThan(95);
  });

  it('is perceptual: lightness rises strictly with attention (a rainbow map such as jet does not)', () => {
    const steps = INFERNO.colours.slice(1).map((colour, i) => lightness(colour) - lightness(INFERNO.colours[i]));
    expect(Math.min(...steps)).toBeGreaterThan(0);
    const jetish: Colormap = { name: 'jet-like', colours: [[0, 0, 0.5], [0, 1, 1], [1, 1, 0], [0.5, 0, 0]] };
    const jetSteps = jetish.colours.slice(1).map((colour, i) => lightness(colour) - lightness(jetish.colours[i]));
    expect(Math.min(...jetSteps)).toBeLessThan(0);
  });

  it('is warmer at high attention: more red than blue above 0.6, more blue than red at the bottom', () => {
    for (const v of [0.6, 0.7, 0.8, 0.9]) {
      const [r, , b] = colourAt(INFERNO, v);
      expect(r - b).toBeGreaterThan(0.4);
    }
    const [r0, , b0] = colourAt(INFERNO, 0.05);
    expect(b0).toBeGreaterThan(r0);
  });

  it('interpolates linearly between entries and clamps outside [0, 1]', () => {
    const map: Colormap = { name: 'two', colours: [[0, 0, 0], [1, 0.5, 0.25]] };
    expect(colourAt(map, 0.5)).toEqual([0.5, 0.25, 0.125]);
    expect(colourAt(map, -3)).toEqual([0, 0, 0]);
    expect(colourAt(map, 7)).toEqual([1, 0.5, 0.25]);
    expect(colourAt(INFERNO, 1)).toEqual(INFERNO.colours[255]);
    expect(colourAt(INFERNO, 128 / 255)).toEqual(INFERNO.colours[128]);
  });

  it('refuses a non-finite attention value, naming it', () => {
    expect(() => colourAt(INFERNO, Number.NaN)).toThrow(new InputError('attention must be a finite number, got NaN'));
  });

  it('gives evenly spaced transfer-function nodes that reproduce the table', () => {
    const nodes = colourNodes(INFERNO);
    expect(nodes).toHaveLength(256);
    expect(nodes[0]).toEqual({ x: 0, rgb: INFERNO.colours[0] });
    expect(nodes[255].x).toBe(1);
    expect(nodes[100].rgb).toEqual(INFERNO.colours[100]);
    expect(() => colourNodes(INFERNO, 1)).toThrow(InputError);
  });

  it('writes a left-to-right CSS gradient for the legend', () => {
    const css = cssGradient(INFERNO, 3);
    expect(css).toBe('linear-gradient(to right, rgb(0, 0, 4) 0%, rgb(187, 55, 85) 50%, rgb(252, 255, 164) 100%)');
  });
});

describe('the opacity ramp', () => {
  it('hides attention below the floor, fades in linearly, and is full above', () => {
    const ramp = { floor: 0.1, full: 0.3 };
    expect(rampAt(ramp, 0)).toBe(0);
    expect(rampAt(ramp, 0.1)).toBe(0);
    expect(rampAt(ramp, 0.2)).toBeCloseTo(0.5, 12);
    expect(rampAt(ramp, 0.3)).toBe(1);
    expect(rampAt(ramp, 1)).toBe(1);
  });

  it('as nodes, matches rampAt at every node and in between', () => {
    const nodes = opacityNodes(ATTENTION_RAMP);
    for (let k = 0; k <= 100; k++) {
      const v = k / 100;
      const right = nodes.findIndex(node => node.x >= v);
      const a = nodes[Math.max(0, right - 1)];
      const b = nodes[right];
      const t = b.x === a.x ? 1 : (v - a.x) / (b.x - a.x);
      expect(a.opacity + (b.opacity - a.opacity) * t).toBeCloseTo(rampAt(ATTENTION_RAMP, v), 12);
    }
  });

  it('refuses a ramp whose full point is not above its floor', () => {
    expect(() => opacityNodes({ floor: 0.5, full: 0.5 })).toThrow('ramp full (0.5) must be above its floor (0.5)');
    expect(() => opacityNodes({ floor: -0.1, full: 0.5 })).toThrow('ramp floor must lie in [0, 1], got -0.1');
  });
});
