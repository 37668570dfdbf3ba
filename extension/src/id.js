import packageJson from '../package.json';

const id = packageJson.name;

/** Ids the mode and the host configuration refer to, derived here so they cannot drift apart. */
const panelName = 'chestaid';
const panelId = `${id}.panelModule.${panelName}`;
const dataSourceName = 'dicomjson';
const dataSourceNamespace = `${id}.dataSourcesModule.${dataSourceName}`;
const toolbarButtonsCustomization = 'chestaid.toolbarButtons';
const analyzeButtonId = 'ChestAidAnalyze';
const analyzeCommand = 'chestAidAnalyze';

export {
  id,
  panelName,
  panelId,
  dataSourceName,
  dataSourceNamespace,
  toolbarButtonsCustomization,
  analyzeButtonId,
  analyzeCommand,
};
