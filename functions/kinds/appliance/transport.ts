// Appliances present self-signed certificates: their transport is the shared one with the
// target's trust setting (functions/shared/tls-transport.ts).
export { tlsTransport as applianceTransport, type TlsTrust as ApplianceTls, type TlsTransport as ApplianceTransport } from '../../shared/tls-transport';
