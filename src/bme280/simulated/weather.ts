// Plausible outdoor weather for the simulated sensor, a function of the clock: a daily
// swing (warmest mid-afternoon, dampest before dawn), the twice-daily pressure tide and
// slower swells of a few days, so a dashboard built on a laptop has something to show.

export interface Conditions {
  /** degC */
  temperature: number;
  /** %RH */
  humidity: number;
  /** Pa */
  pressure: number;
}

const DAY_MS = 86_400_000;
const TAU = 2 * Math.PI;

export function weatherAt(date: Date): Conditions {
  const hour = date.getHours() + date.getMinutes() / 60 + date.getSeconds() / 3600;
  const days = date.getTime() / DAY_MS;
  const daily = Math.sin((TAU * (hour - 9)) / 24);

  const temperature = 14 + 6 * daily + 3 * Math.sin((TAU * days) / 5.3);
  const humidity = 62 - 18 * daily + 8 * Math.sin((TAU * days) / 3.7);
  const pressure = 101325 + 700 * Math.sin((TAU * days) / 4.1)
    + 90 * Math.cos((TAU * (hour - 10)) / 12);

  return {
    temperature,
    humidity: Math.min(98, Math.max(15, humidity)),
    pressure,
  };
}
