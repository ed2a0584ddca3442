/** A connection string that is not a usable device connection string. */
export class ConnectionStringError extends Error {
  override name = 'ConnectionStringError';
}

/** Slot numbers outside 0-9, TTLs that are not whole seconds, and the like. */
export class IdentityArgumentError extends Error {
  override name = 'IdentityArgumentError';
}

/** The slot holds no device identity. */
export class NotProvisionedError extends Error {
  override name = 'NotProvisionedError';

  constructor(readonly slot: number, detail = 'holds no device identity') {
    super(
      `TPM slot ${slot} ${detail}; store a device connection string in it (the ` +
        `tpm-credentials node, or: azure-iot-tpm provision --slot ${slot} -)`);
  }
}

/** Something we did not make occupies the slot's handle or NV index. */
export class ForeignObjectError extends Error {
  override name = 'ForeignObjectError';

  constructor(readonly slot: number, readonly what: string) {
    super(
      `TPM slot ${slot} is taken: ${what}. It may belong to the Azure IoT Identity ` +
        'Service or another program; choose another slot, or replace it on purpose ' +
        '(force / --force)');
  }
}
