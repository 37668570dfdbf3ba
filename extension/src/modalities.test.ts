import { checkModalities, splitModalities } from './modalities';

describe('checkModalities', () => {
  it('accepts a study with CR or DX among its modalities', () => {
    expect(checkModalities('CR').valid).toBe(true);
    expect(checkModalities('DX').valid).toBe(true);
    expect(checkModalities('SR\\DX').valid).toBe(true);
    expect(checkModalities(['PR', 'CR'])).toEqual({
      valid: true,
      description: 'ChestAid reads the CR images of this study',
    });
  });

  it('refuses other modalities and names what the study has', () => {
    expect(checkModalities('CT')).toEqual({
      valid: false,
      description: 'ChestAid reads chest radiographs (CR or DX); this study has CT',
    });
    expect(checkModalities('CT/PT').description).toMatch(/this study has CT, PT$/);
  });

  it('refuses a study without modalities', () => {
    expect(checkModalities('')).toEqual({
      valid: false,
      description: 'ChestAid reads chest radiographs (CR or DX); this study has no modality',
    });
    expect(checkModalities(undefined).valid).toBe(false);
  });
});

describe('splitModalities', () => {
  it('splits on backslash and slash, trims, upper-cases and drops duplicates', () => {
    expect(splitModalities('cr\\ CR/dx')).toEqual(['CR', 'DX']);
  });
});
