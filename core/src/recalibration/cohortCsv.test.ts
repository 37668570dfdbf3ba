import { cohortCsvKind, CohortCsvError, parseFileCohortCsv, parseImageCohortCsv, parseScoreCohortCsv, splitCsvLine } from './cohortCsv';

describe('cohort CSV', () => {
  it('reads image rows in any column order, with pneumonia/normal/unsure and 1/0 labels', () => {
    const rows = parseImageCohortCsv('label,SOPInstanceUID,SeriesInstanceUID,StudyInstanceUID\r\npneumonia,1.2.3,1.2,1\n\n0,1.2.4,1.2,1\nUnsure,1.2.5,1.2,1\n');
    expect(rows.map(r => [r.line, r.sopInstanceUID, r.label])).toEqual([
      [2, '1.2.3', 1],
      [4, '1.2.4', 0],
      [5, '1.2.5', 'unsure'],
    ]);
    expect(rows[0]).toMatchObject({ studyInstanceUID: '1', seriesInstanceUID: '1.2' });
  });

  it('names the line and the value of a bad label or UID', () => {
    const header = 'StudyInstanceUID,SeriesInstanceUID,SOPInstanceUID,label\n';
    expect(() => parseImageCohortCsv(`${header}1,1.2,1.2.3,maybe`)).toThrow('line 2: label "maybe" is not one of pneumonia, normal, unsure');
    expect(() => parseImageCohortCsv(`${header}1,1.2,abc,normal`)).toThrow('line 2: SOPInstanceUID "abc" is not a DICOM UID');
    expect(() => parseImageCohortCsv(`${header}1,1.2,normal`)).toThrow('line 2: 3 cells where the header has 4');
    expect(() => parseImageCohortCsv('uid,label\n1,0')).toThrow(CohortCsvError);
    expect(() => parseImageCohortCsv(header)).toThrow('has a header but no rows');
  });

  it('reads scores with an optional model sha256 and refuses a non-number logit', () => {
    const sha = 'a'.repeat(64);
    const rows = parseScoreCohortCsv(`key,logit,label,model_sha256\nx,-1.5,normal,${sha.toUpperCase()}\ny,2,1,\n`);
    expect(rows).toEqual([
      { line: 2, key: 'x', logit: -1.5, label: 0, modelSha256: sha },
      { line: 3, key: 'y', logit: 2, label: 1 },
    ]);
    expect(() => parseScoreCohortCsv('key,logit,label\nx,NaN,0')).toThrow('line 2: logit "NaN" is not a finite number');
    expect(() => parseScoreCohortCsv('key,logit,label,model_sha256\nx,1,0,abc')).toThrow('model_sha256 "abc" is not a sha256');
  });

  it('reads the monitoring page\'s export as a scores CSV', () => {
    const sha = 'b'.repeat(64);
    const rows = parseScoreCohortCsv(`recorded_at,sop_instance_uid,reader,ground_truth,logit,model_sha256,outcome\r\n2026-11-26,1.2.3,Dr A,pneumonia,1.5,${sha},TP\r\n`);
    expect(rows).toEqual([{ line: 2, key: '1.2.3', logit: 1.5, label: 1, modelSha256: sha }]);
  });

  it('reads a cohort of files and tells the three kinds apart by their header', () => {
    expect(parseFileCohortCsv('file,label\ndicom/a.dcm,normal\n')).toEqual([{ line: 2, file: 'dicom/a.dcm', label: 0 }]);
    expect(() => parseFileCohortCsv('file,label\n,normal\n')).toThrow('line 2: the file is empty');
    expect(cohortCsvKind('file,label\n')).toBe('files');
    expect(cohortCsvKind('StudyInstanceUID,SeriesInstanceUID,SOPInstanceUID,label\n')).toBe('images');
    expect(cohortCsvKind('key,logit,label\n')).toBe('scores');
  });

  it('reads quoted cells holding commas and quotes', () => {
    expect(splitCsvLine('"a, b","say ""hi""",c', 1)).toEqual(['a, b', 'say "hi"', 'c']);
    expect(() => splitCsvLine('"open', 3)).toThrow('line 3: a quoted cell is not closed');
  });
});
