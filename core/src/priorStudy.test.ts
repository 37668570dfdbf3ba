import { priorStudyOf, type StudySummary } from './priorStudy';

const study = (uid: string, change: Partial<StudySummary> = {}): StudySummary => ({
  studyInstanceUID: uid,
  patientId: 'P1',
  studyDate: '20261101',
  modalities: ['CR'],
  ...change,
});

describe('priorStudyOf', () => {
  const current = study('1.1');

  it("picks the same patient's most recent earlier CR or DX study", () => {
    const candidates = [current, study('1.2', { studyDate: '20250101' }), study('1.3', { studyDate: '20260301', modalities: ['DX', 'SR'] }), study('1.4', { studyDate: '20240101' })];
    expect(priorStudyOf(current, candidates)?.studyInstanceUID).toBe('1.3');
  });

  it('ignores another patient, a later or same-day study, a study without radiographs, a study without a date, and the current study itself', () => {
    const candidates = [
      current,
      study('2.1', { patientId: 'P2', studyDate: '20260101' }),
      study('2.2', { studyDate: '20261201' }),
      study('2.3', { studyDate: '20261101' }),
      study('2.4', { studyDate: '20260101', modalities: ['CT'] }),
      study('2.5', { studyDate: '' }),
    ];
    expect(priorStudyOf(current, candidates)).toBeNull();
  });

  it('finds none for a current study without a Patient ID or a date', () => {
    const earlier = study('3.1', { studyDate: '20250101', patientId: '' });
    expect(priorStudyOf({ ...current, patientId: '' }, [earlier])).toBeNull();
    expect(priorStudyOf({ ...current, studyDate: '2026' }, [study('3.2', { studyDate: '20250101' })])).toBeNull();
  });

  it('breaks a tie of dates by UID, so every reader picks the same', () => {
    const a = study('4.1', { studyDate: '20250101' });
    const b = study('4.2', { studyDate: '20250101' });
    expect(priorStudyOf(current, [a, b])?.studyInstanceUID).toBe('4.2');
    expect(priorStudyOf(current, [b, a])?.studyInstanceUID).toBe('4.2');
  });
});
