import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { test } from 'node:test';
import { ConnectionStringError, parseConnectionString } from '../../src/identity';

const KEY = 'q5TmEOGrWx3dpbcm7wfuO/gDwBcm1rgCtKZW2hyhOmM=';
const HOST = 'my-hub.azure-devices.net';
const GOOD = `HostName=${HOST};DeviceId=weather-1;SharedAccessKey=${KEY}`;

test('parses a device connection string', () => {
  const parsed = parseConnectionString(GOOD);
  assert.equal(parsed.hostName, HOST);
  assert.equal(parsed.deviceId, 'weather-1');
  assert.deepEqual(parsed.keyBytes(), Buffer.from(KEY, 'base64'));
  assert.equal(parsed.moduleId, undefined);
});

const accepted: [string, string, Record<string, string>][] = [
  ['names in any case', `hostname=${HOST};DEVICEID=d;sharedaccesskey=${KEY}`,
    { hostName: HOST, deviceId: 'd' }],
  ['any order and a trailing semicolon', `SharedAccessKey=${KEY};DeviceId=d;HostName=${HOST};`,
    { hostName: HOST, deviceId: 'd' }],
  ['a module', `${GOOD};ModuleId=sensor-module`,
    { hostName: HOST, deviceId: 'weather-1', moduleId: 'sensor-module' }],
  ['a gateway', `${GOOD};GatewayHostName=edge.local`,
    { hostName: HOST, deviceId: 'weather-1', gatewayHostName: 'edge.local' }],
  ['a newline pasted after it', `${GOOD}\n`, { hostName: HOST, deviceId: 'weather-1' }],
  ['a host with a port', `HostName=localhost:15671;DeviceId=d;SharedAccessKey=${KEY}`,
    { hostName: 'localhost:15671', deviceId: 'd' }],
  ['every character IoT Hub allows in an id', `HostName=h;DeviceId=a-.%_*?!(),:=@$'z;SharedAccessKey=${KEY}`,
    { hostName: 'h', deviceId: "a-.%_*?!(),:=@$'z" }],
];
for (const [what, text, identity] of accepted) {
  test(`accepts ${what}`, () => {
    assert.deepEqual(parseConnectionString(text).toJSON(), identity);
  });
}

const refused: [string, unknown, RegExp][] = [
  ['not text', 42, /must be text/],
  ['an empty string', '', /is empty; copy the device's primary connection string/],
  ['only whitespace', '  \t ', /is empty/],
  ['no HostName', `DeviceId=d;SharedAccessKey=${KEY}`, /HostName is missing/],
  ['no DeviceId', `HostName=${HOST};SharedAccessKey=${KEY}`, /DeviceId is missing/],
  ['no key', `HostName=${HOST};DeviceId=d`, /SharedAccessKey is missing/],
  ['an empty key', `HostName=${HOST};DeviceId=d;SharedAccessKey=`, /SharedAccessKey is empty/],
  ['a key that is not base64', `HostName=${HOST};DeviceId=d;SharedAccessKey=${KEY.replace('/', '#')}`,
    /not valid base64/],
  ['a truncated key', `HostName=${HOST};DeviceId=d;SharedAccessKey=${KEY.slice(0, -3)}`,
    /not valid base64/],
  ['a url-safe key', `HostName=${HOST};DeviceId=d;SharedAccessKey=${KEY.replace('/', '_')}`,
    /not valid base64/],
  ['a key with inner whitespace', `HostName=${HOST};DeviceId=d;SharedAccessKey=${KEY.slice(0, 8)} ${KEY.slice(8)}`,
    /SharedAccessKey contains whitespace/],
  ['spaces around =', `HostName = ${HOST};DeviceId=d;SharedAccessKey=${KEY}`, /contains whitespace/],
  ['a duplicate part', `${GOOD};DeviceId=other`, /DeviceId appears more than once/],
  ['a duplicate in another case', `${GOOD};hostname=${HOST}`, /HostName appears more than once/],
  ['an unknown part', `${GOOD};Colour=blue`, /unknown "Colour"/],
  ['a part without =', `${GOOD};Junk`, /unknown "Junk"/],
  ['a name without value', `HostName;DeviceId=d;SharedAccessKey=${KEY}`, /HostName has no value/],
  ['an empty middle part', `HostName=${HOST};;DeviceId=d;SharedAccessKey=${KEY}`,
    /empty part between two semicolons/],
  ['a hub policy string', `HostName=${HOST};SharedAccessKeyName=iothubowner;SharedAccessKey=${KEY}`,
    /hub or policy connection string/],
  ['an X.509 device', `HostName=${HOST};DeviceId=d;x509=true`, /X\.509 certificates/],
  ['a SAS token', `HostName=${HOST};DeviceId=d;SharedAccessSignature=SharedAccessSignature sr=x`,
    /SAS token/],
  ['an Event Hub string', `Endpoint=sb://x.servicebus.windows.net/;SharedAccessKey=${KEY}`,
    /Event Hub or Service Bus/],
  ['quotes around it', `"${GOOD}"`, /remove the quotes/],
  ['two lines', `HostName=${HOST};\nDeviceId=d;SharedAccessKey=${KEY}`, /spans several lines/],
  ['a host with a path', `HostName=${HOST}/x;DeviceId=d;SharedAccessKey=${KEY}`, /HostName is not a host name/],
  ['a host with a bad port', `HostName=${HOST}:99999;DeviceId=d;SharedAccessKey=${KEY}`, /not a host name/],
  ['a device id with a slash', `HostName=${HOST};DeviceId=a/b;SharedAccessKey=${KEY}`,
    /DeviceId is not a valid IoT Hub identity/],
  ['a device id of 129 characters', `HostName=${HOST};DeviceId=${'d'.repeat(129)};SharedAccessKey=${KEY}`,
    /DeviceId is not a valid/],
  ['a non-ASCII device id', `HostName=${HOST};DeviceId=wetterstation-süd;SharedAccessKey=${KEY}`,
    /DeviceId is not a valid/],
  ['a module id with a space', `${GOOD};ModuleId=my module`, /ModuleId contains whitespace/],
  ['a bad gateway', `${GOOD};GatewayHostName=-edge`, /GatewayHostName is not a host name/],
];
for (const [what, input, message] of refused) {
  test(`refuses ${what}, naming the problem and not the key`, () => {
    assert.throws(() => parseConnectionString(input), (err: unknown) => {
      assert.ok(err instanceof ConnectionStringError);
      assert.match(err.message, message);
      assert.ok(!err.message.includes(KEY.slice(0, 10)), 'the key must not be echoed');
      return true;
    });
  });
}

test('the key never shows in inspect, JSON or string forms', () => {
  const parsed = parseConnectionString(GOOD);
  const hexKey = Buffer.from(KEY, 'base64').toString('hex');
  for (const shown of [inspect(parsed, { showHidden: true, depth: 5 }), JSON.stringify(parsed),
    String(parsed)]) {
    assert.ok(!shown.includes(KEY) && !shown.includes(hexKey), shown);
  }
});
