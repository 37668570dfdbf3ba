// What the host viewer provides, as a stub: any member is a function that does nothing. Loading
// an entry only defines things; nothing here is rendered.
const noop = () => undefined;
module.exports = new Proxy(noop, { get: (_, key) => (key === '__esModule' ? false : noop) });
