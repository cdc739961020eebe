//! A multi-tenant SCIM 2.0 provisioning service.
//!
//! Layers, one direction only (ARCHITECTURE.md): `http` (transport) -> `service` -> `scim`
//! (protocol, pure) and `store` (port + adapters); `auth` resolves a bearer token to a tenant.
//! `tenant` and `retry` are bottom-layer helpers that any layer may use; `config` reads every
//! environment variable, once, at start.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod config;
pub mod error;
pub mod http;
pub mod metrics;
pub mod retry;
pub mod runtime;
pub mod scim;
pub mod service;
pub mod store;
pub mod tenant;
