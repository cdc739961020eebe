//! A multi-tenant SCIM 2.0 provisioning service.
//!
//! Layers, one direction only (ARCHITECTURE.md): `http` (transport) -> `service` -> `scim`
//! (protocol, pure) and `store` (port + adapters); `auth` resolves a bearer token to a tenant.

pub mod admin;
pub mod admin_api;
pub mod audit;
pub mod auth;
pub mod config;
pub mod error;
pub mod events;
pub mod http;
pub mod metrics;
pub mod operation;
pub mod retry;
pub mod runtime;
pub mod scim;
pub mod service;
pub mod store;
pub mod tenant;
