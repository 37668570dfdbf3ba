import { addPriorStudy, type SearchedStudy, type StudySearch } from './priorStudy';

/** A data source holding `studies`, answering searches by study UID or by Patient ID as OHIF's DICOMweb source does. */
function source(studies: SearchedStudy[], calls: Record<string, unknown>[] = []): StudySearch {
  return {
    query: {
      studies: {
        async search(params) {
          calls.push(params);
          if (params.studyInstanceUid) return studies.filter(s => s.studyInstanceUid === params.studyInstanceUid);
          if (params.patientId) return studies.filter(s => s.mrn === params.patientId);
          return studies;
        },
      },
    },
  };
}

const current = { studyInstanceUid: '1.1', mrn: 'P1', date: '20261104', modalities: 'CR' };
const prior = { studyInstanceUid: '1.2', mrn: 'P1', date: '20260305', modalities: 'CR\\SR' };

describe('addPriorStudy', () => {
  it("appends the patient's most recent earlier CR/DX study to the route's studies, searching by exact Patient ID", async () => {
    const uids = ['1.1'];
    const calls: Record<string, unknown>[] = [];
    const older = { ...prior, studyInstanceUid: '1.3', date: '20250101' };
    const ct = { ...prior, studyInstanceUid: '1.4', date: '20260901', modalities: 'CT' };
    expect(await addPriorStudy({ studyInstanceUIDs: uids, dataSource: source([current, older, prior, ct], calls) })).toBe('1.2');
    expect(uids).toEqual(['1.1', '1.2']);
    expect(calls[1]).toEqual({ patientId: 'P1', disableWildcard: true });
  });

  it('leaves a route that names several studies, a study without a prior or without a Patient ID as it is', async () => {
    const named = ['1.1', '9.9'];
    expect(await addPriorStudy({ studyInstanceUIDs: named, dataSource: source([current, prior]) })).toBeNull();
    expect(named).toEqual(['1.1', '9.9']);
    const alone = ['1.1'];
    expect(await addPriorStudy({ studyInstanceUIDs: alone, dataSource: source([current]) })).toBeNull();
    const anonymous = ['1.1'];
    expect(await addPriorStudy({ studyInstanceUIDs: anonymous, dataSource: source([{ ...current, mrn: '' }, { ...prior, mrn: '' }]) })).toBeNull();
    expect([alone, anonymous]).toEqual([['1.1'], ['1.1']]);
  });

  it('opens the study alone, with a warning, when the search fails', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const uids = ['1.1'];
    const failing: StudySearch = { query: { studies: { search: () => Promise.reject(new Error('QIDO-RS answered 500')) } } };
    expect(await addPriorStudy({ studyInstanceUIDs: uids, dataSource: failing })).toBeNull();
    expect(uids).toEqual(['1.1']);
    expect(warn).toHaveBeenCalledWith('ChestAid: the prior study of 1.1 could not be looked up: QIDO-RS answered 500');
    warn.mockRestore();
  });
});
