import { studyLink } from './links';

describe('studyLink', () => {
  it('opens a scored study on the image that gave the score', () => {
    const link = studyLink('1.2.3', {
      kind: 'scored',
      probability: 0.9,
      image: { studyInstanceUID: '1.2.3', seriesInstanceUID: '1.2.3.4', sopInstanceUID: '1.2.3.4.5' },
      analyzedAt: 0,
      failedImages: 0,
    });
    expect(link).toBe('/chestaid?StudyInstanceUIDs=1.2.3&initialSeriesInstanceUID=1.2.3.4&initialSOPInstanceUID=1.2.3.4.5');
  });

  it('opens any other study as the study list would', () => {
    expect(studyLink('1.2.3', { kind: 'unanalyzed' })).toBe('/chestaid?StudyInstanceUIDs=1.2.3');
    expect(studyLink('1.2.3', null)).toBe('/chestaid?StudyInstanceUIDs=1.2.3');
  });
});
