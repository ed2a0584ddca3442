// The package's library face, for scripts that want the pieces without Node-RED:
// the TPM client, device identities in the TPM, the IoT Hub client and the BME280 driver.
export * as tpm2 from './tpm2';
export * as identity from './identity';
export * as iothub from './iothub';
export * as bme280 from './bme280';
