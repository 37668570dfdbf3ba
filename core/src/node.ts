/**
 * @chestaid/core/node: the parts of the core that need Node's file system, kept out of the main
 * entry so the viewer's bundle never reaches for `node:fs`.
 */
export * from './siteCalibration/fileStore';
