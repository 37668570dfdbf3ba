/** Routes of the recalibration and monitoring pages (custom routes of the viewer). */
export const RECALIBRATION_PATH = '/chestaid-calibration';
export const MONITORING_PATH = '/chestaid-monitoring';
