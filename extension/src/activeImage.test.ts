import { activeImage, type ViewerServices } from './activeImage';

function services(overrides: Partial<{ active: string | null; currentImageId: string | undefined }> = {}): ViewerServices {
  const { active, currentImageId } = { active: 'default', currentImageId: 'dicomweb:/x/2.dcm', ...overrides };
  return {
    viewportGridService: {
      getState: () => ({ activeViewportId: active, viewports: new Map([['default', { displaySetInstanceUIDs: ['ds-1'] }]]) }),
    },
    displaySetService: {
      getDisplaySetByUID: uid =>
        uid === 'ds-1' ? { displaySetInstanceUID: 'ds-1', Modality: 'CR', images: [{ imageId: 'dicomweb:/x/1.dcm' }] } : undefined,
    },
    cornerstoneViewportService: { getCornerstoneViewport: () => ({ getCurrentImageId: () => currentImageId }) },
  };
}

describe('activeImage', () => {
  it('targets the image on screen in the active viewport', () => {
    expect(activeImage(services())).toEqual({
      viewportId: 'default',
      displaySetInstanceUID: 'ds-1',
      imageId: 'dicomweb:/x/2.dcm',
      modality: 'CR',
    });
  });

  it('falls back to the display set\'s first image before the viewport has rendered', () => {
    expect(activeImage(services({ currentImageId: undefined }))).toMatchObject({ imageId: 'dicomweb:/x/1.dcm' });
  });

  it('says so when no viewport is active', () => {
    expect(activeImage(services({ active: null }))).toBe('No image is displayed in the active viewport.');
  });
});
