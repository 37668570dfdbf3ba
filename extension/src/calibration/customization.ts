/**
 * What the recalibration and monitoring pages add to the host: two custom routes
 * (`routes.customRoutes`), composed with the triage page's by getCustomizationModule. Like the
 * triage route, the edit first drops an earlier copy of ours, so applying it twice changes nothing.
 */
import { createElement } from 'react';

import { islandComponent } from '../panels/island';
import { CalibrationPage } from './CalibrationPage';
import type { CalibrationService } from './CalibrationService';
import { CALIBRATION_PATH, MONITORING_PATH } from './ids';
import { MonitoringPage } from './MonitoringPage';

export interface CalibrationCustomizationArgs {
  readonly servicesManager: { readonly services: { readonly chestAidCalibrationService?: CalibrationService } };
  readonly commandsManager: { runCommand(name: string, options?: object): unknown };
}

type Routes = { routes?: { path?: string }[] } | undefined;

export function calibrationRoutes({ servicesManager, commandsManager }: CalibrationCustomizationArgs) {
  const navigate = (to: string) => commandsManager.runCommand('navigateHistory', { to });
  const service = (): CalibrationService => {
    const found = servicesManager.services.chestAidCalibrationService;
    if (!found) throw new Error('ChestAid calibration service did not register');
    return found;
  };
  const Calibration = islandComponent(() => createElement(CalibrationPage, { calibration: service(), navigate }), 'ChestAidCalibrationPage');
  const load = () => service().monitoringData();
  const Monitoring = islandComponent(() => createElement(MonitoringPage, { load, navigate }), 'ChestAidMonitoringPage');
  const ours = [
    { path: CALIBRATION_PATH, children: Calibration },
    { path: MONITORING_PATH, children: Monitoring },
  ];
  return (existing: Routes) => ({
    ...(existing ?? {}),
    routes: [...(existing?.routes ?? []).filter(route => !ours.some(o => o.path === route.path)), ...ours],
  });
}
