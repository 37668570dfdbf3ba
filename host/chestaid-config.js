/**
 * chestaid-config.js: adds ChestAid to an OHIF viewer that a site already runs. The site keeps its
 * own app-config.js (its data sources, its modes, its settings) and includes this file AFTER it:
 *
 *   <script src="/app-config.js"></script>
 *   <script src="/chestaid-config.js"></script>
 *
 * It appends ChestAid's extension to window.config.extensions and ChestAid's mode to
 * window.config.modes, and changes nothing else: ChestAid's customizations (its toolbar buttons,
 * the worklist's risk column, its pages) come with the extension, as its default customization
 * module, so the site's customizationService stays as it is. Its settings come from
 * `window.config.chestaid`, an object the site sets in its app-config.js (or in a file included
 * between the two); every one is optional and listed, with its default, in docs/deploying.md:
 *
 *   window.config.chestaid = {
 *     pacsRoot: '/pacs/dicom-web',          // the PACS's DICOMweb root as the page reaches it
 *     pacsDataSourceName: 'hospital-pacs',  // the site's data source that reads that PACS
 *   };
 *
 * Included twice, the second copy changes nothing. Without window.config, or with a setting it does
 * not know, it adds nothing and says why in the browser console; the site's viewer runs as before.
 *
 * ChestAid itself is loaded only when OHIF registers it: the extension and mode added here are small
 * stubs that import the real bundle (OHIF awaits an extension's preRegistration before it reads any
 * module, and awaits a mode's modeFactory). `npm run build` (webpack.config.js, host/deliverable.cjs)
 * writes this file into dist/ with CHESTAID_BUILD below replaced by the build's values.
 */
(() => {
  const build = CHESTAID_BUILD;
  const marker = Symbol.for('chestaid-config');
  const refuse = message =>
    console.error(`ChestAid ${build.version} (chestaid-config.js): ${message} ChestAid is not added; the viewer runs without it.`);

  let bundle;
  const loadBundle = () => (bundle ??= import(build.bundleUrl));

  /** Where the site names this extension or mode already (a viewer built with the packages, or this file twice). */
  const names = (entry, id, packageName) => {
    const item = Array.isArray(entry) ? entry[0] : entry;
    return item === id || item === packageName || (item !== null && typeof item === 'object' && item.id === id);
  };

  /** The extension's configuration: the build's defaults under the site's settings, or a reason to refuse. */
  const settingsFrom = site => {
    if (site === undefined) return { settings: { ...build.defaults } };
    if (site === null || typeof site !== 'object' || Array.isArray(site)) {
      return { refusal: `window.config.chestaid must be an object of settings, got ${JSON.stringify(site)}.` };
    }
    const unknown = Object.keys(site).filter(key => !build.settings.includes(key));
    if (unknown.length > 0) {
      return { refusal: `window.config.chestaid has unknown setting(s) ${unknown.join(', ')}; the settings are ${build.settings.join(', ')}.` };
    }
    return { settings: { ...build.defaults, ...site } };
  };

  const stubExtension = () => {
    const extension = {
      id: build.extensionId,
      async preRegistration(args) {
        const { extension: real } = await loadBundle();
        if (real.id !== build.extensionId) {
          throw new Error(`ChestAid bundle holds extension ${real.id}, chestaid-config.js expected ${build.extensionId}`);
        }
        Object.assign(extension, real);
        await real.preRegistration?.call(extension, args);
      },
    };
    return extension;
  };

  const stubMode = () => ({
    id: build.modeId,
    async modeFactory(args) {
      try {
        const { mode } = await loadBundle();
        if (mode.id !== build.modeId) throw new Error(`ChestAid bundle holds mode ${mode.id}, chestaid-config.js expected ${build.modeId}`);
        const instance = await mode.modeFactory(args);
        // The mode lists ChestAid's extension for viewers built with the packages; here it was
        // registered above, and the viewer could only import() its name as a URL.
        const { [build.extensionId]: _registeredAbove, ...extensions } = instance.extensions;
        return { ...instance, extensions };
      } catch (error) {
        // Returning nothing leaves the site's other modes usable; the console says why ChestAid is absent.
        console.error('ChestAid mode failed to load', error);
        return null;
      }
    },
  });

  /** Adds ChestAid to one configuration object, in place; only its extensions and modes change. */
  const addTo = config => {
    if (config === null || typeof config !== 'object') {
      refuse(`the site's configuration is not an object (${JSON.stringify(config)}).`);
      return config;
    }
    for (const key of ['extensions', 'modes']) {
      if (config[key] !== undefined && !Array.isArray(config[key])) {
        refuse(`window.config.${key} must be an array, got ${JSON.stringify(config[key])}.`);
        return config;
      }
    }
    const extensions = config.extensions ?? [];
    const modes = config.modes ?? [];
    const hasExtension = extensions.some(entry => names(entry, build.extensionId, build.extensionId));
    const hasMode = modes.some(entry => names(entry, build.modeId, build.modePackage));
    if (!hasExtension) {
      const { settings, refusal } = settingsFrom(config.chestaid);
      if (refusal) {
        refuse(refusal);
        return config;
      }
      config.extensions = [...extensions, [stubExtension(), settings]];
    }
    if (!hasMode) config.modes = [...modes, stubMode()];
    return config;
  };

  const site = window.config;
  if (site === undefined || site === null) {
    refuse("window.config is not set: include /chestaid-config.js after the site's own app-config.js, which sets it.");
  } else if (typeof site === 'function') {
    // OHIF also accepts a function that returns the configuration: ChestAid is added to what it returns.
    if (!site[marker]) {
      const withChestAid = async (...args) => addTo(await site(...args));
      withChestAid[marker] = true;
      window.config = withChestAid;
    }
  } else {
    addTo(site);
  }
})();
