import { filterStudies, type StudyRow } from './studyFilters';

const rows: StudyRow[] = [
  { studyInstanceUid: '1', patientName: 'SYNTH^P0001', mrn: 'SYNTH-P0001', description: 'CHEST PA (synthetic)', accession: 'A1', modalities: 'CR', date: '20260101' },
  { studyInstanceUid: '2', patientName: 'SYNTH^P0002', mrn: 'SYNTH-P0002', description: 'CHEST PA (synthetic)', accession: 'A2', modalities: 'DX', date: '20260105' },
  { studyInstanceUid: '3', patientName: 'SYNTHETIC^CT TEST CASE', mrn: 'SYNTH-CT-0001', description: 'SYNTHETIC CT', accession: 'C1', modalities: 'CT', date: '20260110' },
];
const uids = (result: StudyRow[]) => result.map(r => r.studyInstanceUid);

describe('filterStudies', () => {
  it('lists every study when the study list sends only paging', () => {
    expect(uids(filterStudies(rows, { offset: 0, limit: 101 }))).toEqual(['1', '2', '3']);
  });

  it('finds one study by UID, as the mode route asks before opening it', () => {
    expect(uids(filterStudies(rows, { studyInstanceUid: '2' }))).toEqual(['2']);
    expect(filterStudies(rows, { studyInstanceUid: 'missing' })).toEqual([]);
  });

  it('matches text filters case-insensitively, ignoring DICOM wildcards', () => {
    expect(uids(filterStudies(rows, { patientName: '*p0002*' }))).toEqual(['2']);
    expect(uids(filterStudies(rows, { patientId: 'synth-ct' }))).toEqual(['3']);
    expect(uids(filterStudies(rows, { studyDescription: 'chest pa', accessionNumber: 'a1' }))).toEqual(['1']);
  });

  it('keeps studies having any of the wanted modalities', () => {
    expect(uids(filterStudies(rows, { modalitiesInStudy: ['CT', 'DX'] }))).toEqual(['2', '3']);
  });

  it('keeps studies within the date range, bounds included', () => {
    expect(uids(filterStudies(rows, { startDate: '20260105', endDate: '20260110' }))).toEqual(['2', '3']);
  });

  it('pages after filtering', () => {
    expect(uids(filterStudies(rows, { offset: 1, limit: 1 }))).toEqual(['2']);
  });

  it('does not modify the rows it is given', () => {
    const before = JSON.stringify(rows);
    filterStudies(rows, { patientName: 'x', offset: 1 });
    expect(JSON.stringify(rows)).toBe(before);
  });
});
