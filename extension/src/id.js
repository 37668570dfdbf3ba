import packageJson from '../package.json';

const id = packageJson.name;
/** The mode lists the extension with this version (extensionDependencies). */
const extensionVersion = packageJson.version;

/** Ids the mode and the host configuration refer to, derived here so they cannot drift apart. */
const panelName = 'chestaid';
const panelId = `${id}.panelModule.${panelName}`;
const dataSourceName = 'dicomjson';
const dataSourceNamespace = `${id}.dataSourcesModule.${dataSourceName}`;
const toolbarButtonsCustomization = 'chestaid.toolbarButtons';
const analyzeButtonId = 'ChestAidAnalyze';
const analyzeCommand = 'chestAidAnalyze';
const analyzeAllCommand = 'chestAidAnalyzeAll';
const toggleHeatmapCommand = 'chestAidToggleHeatmap';
const showImageCommand = 'chestAidShowImage';
const captureCommand = 'chestAidCapture';
const saveToPacsCommand = 'chestAidSaveToPacs';
const heatmapButtonId = 'ChestAidHeatmap';
const heatmapEvaluator = 'evaluate.chestaid.heatmap';
/** Shift+H: OHIF's own bindings use plain h (flip horizontal). */
const heatmapHotkey = 'shift+h';
/** Shows the image before or after the active one in the panel's image list ({ direction: 1 | -1 }). */
const showAdjacentImageCommand = 'chestAidShowAdjacentImage';
/** Records the reader's ground truth for the result on screen ({ label: 'pneumonia' | 'normal' | 'unsure' }). */
const recordFeedbackCommand = 'chestAidRecordFeedback';
/** Starts loading the model before any Analyze, where the site allows it (the mode runs it on entry). */
const prepareModelCommand = 'chestAidPrepareModel';

export {
  id,
  extensionVersion,
  panelName,
  panelId,
  dataSourceName,
  dataSourceNamespace,
  toolbarButtonsCustomization,
  analyzeButtonId,
  analyzeCommand,
  analyzeAllCommand,
  toggleHeatmapCommand,
  showImageCommand,
  captureCommand,
  saveToPacsCommand,
  heatmapButtonId,
  heatmapEvaluator,
  heatmapHotkey,
  showAdjacentImageCommand,
  recordFeedbackCommand,
  prepareModelCommand,
};
