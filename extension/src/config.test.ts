import { DEFAULT_CONFIG, inferenceUrls, resolveConfig } from './config';

describe('inferenceUrls', () => {
  it('resolves site-relative paths against the document base, keeping the folder slash', () => {
    expect(inferenceUrls(DEFAULT_CONFIG, 'https://pacs.example/viewer/chestaid?StudyInstanceUIDs=1')).toEqual({
      manifestUrl: 'https://pacs.example/models/chestaid-demo/manifest.json',
      ortBaseUrl: 'https://pacs.example/chestaid/ort/',
    });
  });

  it('leaves absolute URLs as configured', () => {
    const config = resolveConfig({ manifestUrl: 'https://models.example/m/manifest.json', ortWasmPaths: 'https://cdn.example/ort/' });
    expect(inferenceUrls(config, 'https://pacs.example/')).toEqual({
      manifestUrl: 'https://models.example/m/manifest.json',
      ortBaseUrl: 'https://cdn.example/ort/',
    });
  });
});
