export { startRegistry, runServe, type RunningRegistry } from './serve';
export { createDriverFactories, loadEffectiveConfig, isConfigurationError, type LoadedConfig } from './load';
export { parseListenAddress, formatAddress, listenOn, ListenAddressError, type ListenTarget } from './listen';
export { GracefulServer, type ShutdownResult } from './lifecycle';
export { defaultConfigYaml, resolveConfigSource, SYSTEM_CONFIG_PATH, type ConfigSource } from './default-config';
