/**
 * ChestAid's configuration of the prebuilt OHIF viewer (served as /app-config.js in place of the
 * dist's own). A classic script that runs before the viewer's bundle; webpack.config.js replaces
 * CHESTAID_HOST below with the build's values (bundle URL, extension id, data paths).
 *
 * ChestAid is loaded at run time: the extension and mode listed here are small stubs that import
 * the real bundle when OHIF registers them (OHIF awaits an extension's preRegistration before it
 * reads any module, and awaits a mode's modeFactory).
 */
(() => {
  const host = CHESTAID_HOST;

  let bundle;
  const loadBundle = () => (bundle ??= import(host.bundleUrl));

  const chestAidExtension = {
    id: host.extensionId,
    async preRegistration(args) {
      const { extension } = await loadBundle();
      if (extension.id !== host.extensionId) {
        throw new Error(`ChestAid bundle holds extension ${extension.id}, app-config expected ${host.extensionId}`);
      }
      Object.assign(chestAidExtension, extension);
      await extension.preRegistration?.call(chestAidExtension, args);
    },
  };

  const chestAidMode = {
    id: 'chestaid',
    async modeFactory(args) {
      try {
        const { mode } = await loadBundle();
        const instance = await mode.modeFactory(args);
        // The mode lists ChestAid's extension for viewers built with it (pluginConfig.json); this
        // prebuilt viewer registered it above and could only import() the name as a URL.
        const { [host.extensionId]: _registeredAbove, ...extensions } = instance.extensions;
        return { ...instance, extensions };
      } catch (error) {
        // Returning nothing leaves the other modes usable; the console says why ChestAid is absent.
        console.error('ChestAid mode failed to load', error);
        return null;
      }
    },
  };

  window.config = {
    name: 'chestaid',
    routerBasename: null,
    extensions: [
      [
        chestAidExtension,
        {
          manifestUrl: host.manifestUrl,
          ortWasmPaths: host.ortWasmPaths,
          tfjsWasmPaths: host.tfjsWasmPaths,
          // Which in-page engine: 'auto' (the fastest here that passes its self-check) unless set.
          ...(host.engine ? { engine: host.engine } : {}),
          // Where ChestAid reads and writes its results as DICOM (null: in this browser only), and
          // which data source reads the same PACS (Save to PACS is offered for that source's
          // studies only). With a PACS, the calibration is the served log (config.ts).
          pacsRoot: host.resultsPacsRoot,
          pacsDataSourceName: host.pacsDataSourceName,
          calibrationSource: host.calibrationSource,
          modelFile: host.modelFile,
          preloadModel: host.preloadModel,
        },
      ],
    ],
    modes: [chestAidMode],
    customizationService: {},
    showStudyList: true,
    maxNumberOfWebWorkers: 3,
    showWarningMessageForCrossOrigin: true,
    showCPUFallbackMessage: true,
    showLoadingIndicator: true,
    strictZSpacingForVolumeViewport: true,
    groupEnabledModesFirst: true,
    allowMultiSelectExport: false,
    maxNumRequests: { interaction: 100, thumbnail: 5, prefetch: 25 },
    showErrorDetails: 'dev',
    // OHIF calls this for every failed image load and fails itself when it is missing.
    httpErrorHandler: error => console.warn('ChestAid viewer: request failed', error),
    // The login (OHIF's OpenID Connect client, authorization code with PKCE), when the build has one.
    ...(host.oidc ? { oidc: [host.oidc] } : {}),
    defaultDataSourceName: host.defaultDataSourceName,
    dataSources: [
      {
        namespace: host.dataSourceNamespace,
        sourceName: host.dataSourceName,
        configuration: {
          friendlyName: 'ChestAid demo studies (synthetic, DICOM JSON)',
          name: host.dataSourceName,
          url: host.studyListUrl,
        },
      },
      // The PACS through the dev server's proxy (or a site's own reverse proxy on this origin):
      // OHIF's stock DICOMweb data source. `?datasources=pacs` selects it.
      {
        namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
        sourceName: host.pacsDataSourceName,
        configuration: {
          friendlyName: 'PACS (DICOMweb)',
          name: host.pacsDataSourceName,
          qidoRoot: new URL(host.pacsRoot, window.location.origin).href,
          wadoRoot: new URL(host.pacsRoot, window.location.origin).href,
          wadoUriRoot: new URL(host.pacsRoot, window.location.origin).href,
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
  };
})();
