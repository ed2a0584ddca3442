// The example flow on Node-RED 5, which needs Node 22. Both are installed from the npm
// registry into a cache under the OS temp dir; if that fails, these tests fail with npm's
// reason rather than being skipped.
import { nodeRed5 } from './support/node-red-5';
import { weatherStationScenario } from './support/weather-station-scenario';

weatherStationScenario('weather-station example on Node-RED 5 and Node 22', async () => {
  const runtime = await nodeRed5();
  if (!runtime.nodeVersion.startsWith('v22.') || !runtime.nodeRedVersion.startsWith('5.')) {
    throw new Error(`got Node ${runtime.nodeVersion} and Node-RED ${runtime.nodeRedVersion}`);
  }
  return runtime;
});
