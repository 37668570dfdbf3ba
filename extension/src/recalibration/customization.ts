/**
 * What the recalibration and monitoring pages add to the host: two custom routes
 * (`routes.customRoutes`), composed with the triage page's by getCustomizationModule. Like the
 * triage route, the edit first drops an earlier copy of ours, so applying it twice changes nothing.
 */
import { createElement } from 'react';

import { islandComponent } from '../panels/island';
import { RecalibrationPage } from './RecalibrationPage';
import type { RecalibrationService } from './RecalibrationService';
import { RECALIBRATION_PATH, MONITORING_PATH } from './ids';
import { MonitoringPage } from './MonitoringPage';

export interface CalibrationCustomizationArgs {
  readonly servicesManager: { readonly services: { readonly chestAidRecalibrationService?: RecalibrationService } };
  readonly commandsManager: { runCommand(name: string, options?: object): unknown };
}

type Routes = { routes?: { path?: string }[] } | undefined;

export function calibrationRoutes({ servicesManager, commandsManager }: CalibrationCustomizationArgs) {
  const navigate = (to: string) => commandsManager.runCommand('navigateHistory', { to });
  const service = (): RecalibrationService => {
    const found = servicesManager.services.chestAidRecalibrationService;
    if (!found) throw new Error('ChestAid calibration service did not register');
    return found;
  };
  const Calibration = islandComponent(() => createElement(RecalibrationPage, { calibration: service(), navigate }), 'ChestAidCalibrationPage');
  const load = () => service().monitoringData();
  const Monitoring = islandComponent(() => createElement(MonitoringPage, { load, navigate }), 'ChestAidMonitoringPage');
  // Private, like OHIF's own routes: with a login, a visit goes through it first (the page then
  // knows who changes the calibration); without one, OHIF renders them as any route.
  const ours = [
    { path: RECALIBRATION_PATH, children: Calibration, private: true },
    { path: MONITORING_PATH, children: Monitoring, private: true },
  ];
  return (existing: Routes) => ({
    ...(existing ?? {}),
    routes: [...(existing?.routes ?? []).filter(route => !ours.some(o => o.path === route.path)), ...ours],
  });
}
