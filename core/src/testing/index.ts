/** @chestaid/core/testing: fixtures the tests of every package share (never imported by product code). */
export * from './cohorts';
export * from './crAttributes';
export * from './feedback';
export * from './overlays';
export * from './manifestRefusal';
