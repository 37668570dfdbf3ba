import { isValidMode } from './isValidMode';

describe('the ChestAid mode', () => {
  it('is valid for studies with CR or DX images, as OHIF passes their modalities', () => {
    expect(isValidMode({ modalities: 'CR' }).valid).toBe(true);
    expect(isValidMode({ modalities: 'DX\\SR' }).valid).toBe(true);
  });

  it('is not valid for a CT study and says why', () => {
    expect(isValidMode({ modalities: 'CT' })).toEqual({
      valid: false,
      description: 'ChestAid reads chest radiographs (CR or DX); this study has CT',
    });
  });
});
