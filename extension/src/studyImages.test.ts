import { studyImages } from './studyImages';

describe('studyImages', () => {
  it('lists every image of the CR and DX display sets, labelled by series, and skips other modalities', () => {
    const images = studyImages([
      { displaySetInstanceUID: 'ds1', Modality: 'CR', SeriesDescription: 'CHEST PA', StudyInstanceUID: 'st', SeriesInstanceUID: 'se1', images: [{ imageId: 'i1', SOPInstanceUID: 's1' }] },
      { displaySetInstanceUID: 'ds2', Modality: 'SR', images: [{ imageId: 'i2', SOPInstanceUID: 's2' }] },
      {
        displaySetInstanceUID: 'ds3',
        Modality: 'dx',
        SeriesNumber: 4,
        images: [
          { imageId: 'i3', SOPInstanceUID: 's3', InstanceNumber: 1 },
          { imageId: 'i4', SOPInstanceUID: 's4', InstanceNumber: 2 },
        ],
      },
    ]);
    expect(images).toEqual([
      { displaySetInstanceUID: 'ds1', imageId: 'i1', sopInstanceUID: 's1', modality: 'CR', label: 'CHEST PA', studyInstanceUID: 'st', seriesInstanceUID: 'se1' },
      { displaySetInstanceUID: 'ds3', imageId: 'i3', sopInstanceUID: 's3', modality: 'DX', label: 'Series 4, image 1' },
      { displaySetInstanceUID: 'ds3', imageId: 'i4', sopInstanceUID: 's4', modality: 'DX', label: 'Series 4, image 2' },
    ]);
  });

  it('leaves out an image without an id or SOPInstanceUID (nothing could key its result)', () => {
    expect(studyImages([{ displaySetInstanceUID: 'ds', Modality: 'CR', images: [{ imageId: 'i' }, { SOPInstanceUID: 's' }] }])).toEqual([]);
  });
});
