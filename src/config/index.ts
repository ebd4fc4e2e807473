export { ConfigSchema, type GatewayConfig } from './schema.js';
export {
  SiteDataSchema, DEVICE_KINDS, type SiteData, type SiteInfo, type SiteDevice, type SiteDoor, type SiteGroup,
  type SiteCardholder, type SiteCredential, type DeviceKind,
} from './siteSchema.js';
export { loadConfigFile, loadSiteFile, checkConfigFile, parseConfig, parseSiteData, type ConfigOverrides, type LoadedConfig } from './load.js';
export type { ConfigParseResult, SiteParseResult } from './parse.js';
