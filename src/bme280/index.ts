export { Bme280, WEATHER_MONITORING, type Bme280Options, type Chip } from './bme280';
export { Bme280Error } from './errors';
export { Bme280Sensor, type SensorReport } from './sensor';
export { parseSettings, type SensorConfig } from './settings';
export type { Reading } from './compensation';
