// The example flow on the project's own Node-RED (the node-red devDependency) and Node.
import { weatherStationScenario } from './support/weather-station-scenario';

weatherStationScenario(`weather-station example on Node-RED 4 and Node ${process.version}`,
  () => Promise.resolve(undefined));
