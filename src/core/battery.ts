/**
 * Under this battery level a device needs a visit: the default low-battery
 * alarm raises here (profiles/library.ts), and the fleet view, the family
 * page and the device health report all call it low from the same line.
 */
export const LOW_BATTERY_PERCENT = 15;

export const isLowBattery = (battery: number | null): boolean => battery !== null && battery < LOW_BATTERY_PERCENT;
