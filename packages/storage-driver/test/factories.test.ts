import { DriverFactories, UnknownDriverError, type DriverFactory, type StorageDriver } from '@berth/storage-driver';

/** A factory that records what it was asked; its drivers are never used here. */
function factory(name: string, log: string[], invalid?: string): DriverFactory {
  return {
    name,
    validate(parameters) {
      log.push(`validate ${name} ${JSON.stringify(parameters)}`);
      if (invalid && invalid in parameters) throw new Error(`bad ${invalid}`);
    },
    async create(parameters) {
      log.push(`create ${name} ${JSON.stringify(parameters)}`);
      return { name } as StorageDriver;
    },
  };
}

describe('DriverFactories', () => {
  it('lists registered names sorted and finds factories by name', () => {
    const log: string[] = [];
    const factories = new DriverFactories([factory('s3', log), factory('filesystem', log)]);
    factories.register(factory('inmemory', log));
    expect(factories.names()).toEqual(['filesystem', 'inmemory', 's3']);
    expect(factories.has('s3')).toBe(true);
    expect(factories.has('azure')).toBe(false);
    expect(factories.get('inmemory').name).toBe('inmemory');
  });

  it('refuses to register a name twice', () => {
    const factories = new DriverFactories([factory('s3', [])]);
    expect(() => factories.register(factory('s3', []))).toThrow('storage driver "s3" is already registered');
    expect(() => new DriverFactories([factory('a', []), factory('a', [])])).toThrow(/already registered/);
  });

  it('rejects an unknown name with UnknownDriverError listing the known ones', async () => {
    const factories = new DriverFactories([factory('s3', []), factory('filesystem', [])]);
    expect(() => factories.get('azure')).toThrow(UnknownDriverError);
    await expect(factories.create('azure', {})).rejects.toMatchObject({
      code: 'UNKNOWN_DRIVER',
      driver: 'azure',
      known: ['filesystem', 's3'],
      message: 'unknown storage driver "azure" (known: filesystem, s3)',
    });
  });

  it('validates the parameters before creating, and does not create when they are invalid', async () => {
    const log: string[] = [];
    const factories = new DriverFactories([factory('s3', log, 'broken')]);
    const driver = await factories.create('s3', { bucket: 'b' });
    expect(driver.name).toBe('s3');
    expect(log).toEqual(['validate s3 {"bucket":"b"}', 'create s3 {"bucket":"b"}']);
    log.length = 0;
    await expect(factories.create('s3', { broken: true })).rejects.toThrow('bad broken');
    expect(log).toEqual(['validate s3 {"broken":true}']);
  });
});
