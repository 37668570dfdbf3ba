import { DEFAULT_CONFIG, inferenceUrls, pacsUrl, resolveConfig } from './config';

describe('inferenceUrls', () => {
  it('resolves site-relative paths against the document base, keeping the folder slash', () => {
    expect(inferenceUrls(DEFAULT_CONFIG, 'https://pacs.example/viewer/chestaid?StudyInstanceUIDs=1')).toEqual({
      manifestUrl: 'https://pacs.example/models/chestaid-demo/manifest.json',
      ortBaseUrl: 'https://pacs.example/chestaid/ort/',
      tfjsWasmBaseUrl: 'https://pacs.example/chestaid/tfjs/',
    });
  });

  it('leaves absolute URLs as configured', () => {
    const config = resolveConfig({ manifestUrl: 'https://models.example/m/manifest.json', ortWasmPaths: 'https://cdn.example/ort/', tfjsWasmPaths: 'https://cdn.example/tfjs/' });
    expect(inferenceUrls(config, 'https://pacs.example/')).toEqual({
      manifestUrl: 'https://models.example/m/manifest.json',
      ortBaseUrl: 'https://cdn.example/ort/',
      tfjsWasmBaseUrl: 'https://cdn.example/tfjs/',
    });
  });
});

describe('the PACS configuration', () => {
  it('has no PACS unless the host names one', () => {
    expect(pacsUrl(resolveConfig({}), 'https://viewer.example/')).toBeNull();
  });

  it("resolves the host's DICOMweb root against the document, without a trailing slash", () => {
    const config = resolveConfig({ pacsRoot: '/pacs/dicom-web/', pacsDataSourceName: 'pacs' });
    expect(pacsUrl(config, 'https://viewer.example/viewer?x=1')).toBe('https://viewer.example/pacs/dicom-web');
  });

  it('refuses an empty PACS root, naming it', () => {
    expect(() => resolveConfig({ pacsRoot: ' ' })).toThrow(/pacsRoot must be a non-empty string or null, got " "/);
  });
});

describe('resolveConfig', () => {
  it("chooses the engine automatically unless told, and refuses an engine it does not know", () => {
    expect(resolveConfig({}).engine).toBe('auto');
    expect(resolveConfig({ engine: 'tfjs' }).engine).toBe('tfjs');
    expect(() => resolveConfig({ engine: 'webgl' as never })).toThrow('ChestAid engine must be one of auto, onnxruntime, tfjs, got "webgl"');
  });

  it("refuses this browser's own calibration log when a PACS is configured, and reads the served one by default there", () => {
    expect(() => resolveConfig({ pacsRoot: '/pacs/dicom-web', pacsDataSourceName: 'pacs', calibrationSource: 'browser' })).toThrow(
      /^ChestAid calibrationSource "browser" cannot be used with a PACS \(pacsRoot "\/pacs\/dicom-web"\): .* Use "served" .* or "none"\.$/,
    );
    expect(resolveConfig({ pacsRoot: '/pacs/dicom-web', pacsDataSourceName: 'pacs' }).calibrationSource).toBe('served');
    expect(resolveConfig({ pacsRoot: '/pacs/dicom-web', pacsDataSourceName: 'pacs', calibrationSource: 'none' }).calibrationSource).toBe('none');
    expect(resolveConfig({ pacsRoot: null, calibrationSource: 'browser' }).calibrationSource).toBe('browser');
  });

  it('reads the calibration log from this browser unless told otherwise, and refuses an unknown source', () => {
    expect(resolveConfig(undefined)).toMatchObject({ calibrationSource: 'browser', readerName: null });
    expect(resolveConfig({ calibrationSource: 'served', readerName: 'Dr Reader' })).toMatchObject({ calibrationSource: 'served', readerName: 'Dr Reader' });
    expect(() => resolveConfig({ calibrationSource: 'cloud' as never })).toThrow('ChestAid calibrationSource must be one of served, browser, none, got "cloud"');
  });

  it('preloads the model by default; a site may turn it off, and a value that is not a boolean is refused', () => {
    expect(resolveConfig(undefined).preloadModel).toBe(true);
    expect(resolveConfig({ preloadModel: false }).preloadModel).toBe(false);
    expect(() => resolveConfig({ preloadModel: 'no' as never })).toThrow('ChestAid configuration preloadModel must be true or false, got "no"');
  });

  it("runs the manifest's own ONNX file unless the site names a variant; an empty name is refused", () => {
    expect(resolveConfig(undefined).modelFile).toBeNull();
    expect(resolveConfig({ modelFile: 'model.int8.onnx' }).modelFile).toBe('model.int8.onnx');
    expect(() => resolveConfig({ modelFile: ' ' })).toThrow('ChestAid configuration modelFile must be a non-empty string or null, got " "');
  });
});
