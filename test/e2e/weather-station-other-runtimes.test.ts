// The example flow on the oldest and the newest Node-RED the package admits, each on a
// Node.js it supports: Node-RED 3 on Node 18 (Debian 12's and Raspberry Pi OS's own
// Node.js line) and Node-RED 5 on Node 22. Both are installed from the npm registry into a
// cache under the OS temp dir; if that fails, these tests fail with npm's reason rather
// than being skipped.
import { nodeRedRuntime } from './support/runtimes';
import { weatherStationScenario } from './support/weather-station-scenario';

weatherStationScenario('weather-station example on Node-RED 3 and Node 18',
  () => nodeRedRuntime(18, 3));

weatherStationScenario('weather-station example on Node-RED 5 and Node 22',
  () => nodeRedRuntime(22, 5));
