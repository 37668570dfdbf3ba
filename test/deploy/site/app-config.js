/**
 * A hospital's own configuration of the stock OHIF viewer (@ohif/app 3.13.2), as ChestAid finds it
 * when the site adds chestaid-config.js beside it: a white-labelled name, its DICOMweb PACS under a
 * name of its own, two of OHIF's stock modes, settings of its own. Nothing here is ChestAid's but
 * `chestaid`, the settings chestaid-config.js reads (docs/deploying.md).
 */
// The PACS through this server's reverse proxy (deploy/nginx), on the viewer's own origin.
const pacs = new URL('/pacs/dicom-web', window.location.origin).href;

window.config = {
  name: 'St Elsewhere Imaging',
  routerBasename: null,
  whiteLabeling: {
    createLogoComponentFn: React => React.createElement('span', { className: 'text-primary-light text-lg' }, 'St Elsewhere Imaging'),
  },
  extensions: [],
  modes: ['@ohif/mode-longitudinal', '@ohif/mode-segmentation'],
  customizationService: {},
  showStudyList: true,
  maxNumberOfWebWorkers: 2,
  showWarningMessageForCrossOrigin: true,
  showCPUFallbackMessage: true,
  showLoadingIndicator: true,
  investigationalUseDialog: { option: 'never' },
  maxNumRequests: { interaction: 50, thumbnail: 4, prefetch: 10 },
  httpErrorHandler: error => console.warn('St Elsewhere viewer: request failed', error),
  defaultDataSourceName: 'st-elsewhere-pacs',
  dataSources: [
    {
      namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
      sourceName: 'st-elsewhere-pacs',
      configuration: {
        friendlyName: 'St Elsewhere PACS',
        name: 'st-elsewhere-pacs',
        qidoRoot: pacs,
        wadoRoot: pacs,
        wadoUriRoot: pacs,
        qidoSupportsIncludeField: false,
        supportsReject: false,
        supportsStow: true,
        imageRendering: 'wadors',
        thumbnailRendering: 'wadors',
        enableStudyLazyLoad: true,
        supportsFuzzyMatching: false,
        supportsWildcard: true,
        staticWado: false,
        singlepart: 'bulkdata,video',
        omitQuotationForMultipartRequest: true,
        bulkDataURI: { enabled: true, relativeResolution: 'studies' },
      },
    },
  ],
  chestaid: {
    pacsRoot: '/pacs/dicom-web',
    pacsDataSourceName: 'st-elsewhere-pacs',
    // No site calibration log is served in the tests: the manifest's own calibration.
    calibrationSource: 'none',
  },
};
