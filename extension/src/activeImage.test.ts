import { activeImage, type ViewerServices } from './activeImage';

function services(overrides: Partial<{ active: string | null; currentImageId: string | undefined }> = {}): ViewerServices {
  const { active, currentImageId } = { active: 'default', currentImageId: 'dicomweb:/x/2.dcm', ...overrides };
  return {
    viewportGridService: {
      getState: () => ({ activeViewportId: active, viewports: new Map([['default', { displaySetInstanceUIDs: ['ds-1'] }]]) }),
    },
    displaySetService: {
      getDisplaySetByUID: uid =>
        uid === 'ds-1'
          ? {
              displaySetInstanceUID: 'ds-1',
              Modality: 'CR',
              images: [
                { imageId: 'dicomweb:/x/1.dcm', SOPInstanceUID: '1.1' },
                { imageId: 'dicomweb:/x/2.dcm', SOPInstanceUID: '1.2' },
              ],
            }
          : undefined,
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
      sopInstanceUID: '1.2',
      modality: 'CR',
    });
  });

  it('falls back to the display set\'s first image before the viewport has rendered', () => {
    expect(activeImage(services({ currentImageId: undefined }))).toMatchObject({ imageId: 'dicomweb:/x/1.dcm', sopInstanceUID: '1.1' });
  });

  it('says so when the image on screen is not one of the display set\'s instances', () => {
    expect(activeImage(services({ currentImageId: 'dicomweb:/x/9.dcm' }))).toBe(
      'The image in the active viewport has no SOPInstanceUID (dicomweb:/x/9.dcm).',
    );
  });

  it('asks the metadata for the instance of an image the display set does not list (a frame)', () => {
    const frame = 'dicomweb:/x/2.dcm&frame=3';
    expect(activeImage(services({ currentImageId: frame }), id => (id === frame ? '1.2' : undefined))).toMatchObject({
      imageId: frame,
      sopInstanceUID: '1.2',
    });
  });

  it("names the image's study and series when the display set does, for the result store's key", () => {
    const base = services();
    const withUids: ViewerServices = {
      ...base,
      displaySetService: {
        getDisplaySetByUID: uid => {
          const displaySet = base.displaySetService.getDisplaySetByUID(uid);
          return displaySet && { ...displaySet, StudyInstanceUID: 'st-1', SeriesInstanceUID: 'se-1' };
        },
      },
    };
    expect(activeImage(withUids)).toMatchObject({ studyInstanceUID: 'st-1', seriesInstanceUID: 'se-1', sopInstanceUID: '1.2' });
  });

  it('says so when no viewport is active', () => {
    expect(activeImage(services({ active: null }))).toBe('No image is displayed in the active viewport.');
  });
});
