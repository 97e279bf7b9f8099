//! `lease inspect`: who holds a lease, until when, with which fencing token (a consistent
//! read; never the token, only its fingerprint).

use crate::cli::{FormatArgs, InspectArgs, StoreArgs, ViewOutput};
use crate::connect::Connection;
use crate::exit::Failure;
use crate::output::SnapshotView;

/// Runs `lease inspect`.
///
/// # Errors
/// As the library's inspect ([`Failure::lease`]): 65 for an item that is not a readable lease,
/// 74 for a store failure.
pub(crate) async fn inspect(
    store: &StoreArgs,
    format: &FormatArgs,
    args: InspectArgs,
) -> Result<u8, Failure> {
    let connection = Connection::open(store, format).await?;
    let manager = connection.manager();
    let snapshot = manager
        .inspect(manager.config().resolve_key(args.key))
        .await
        .map_err(|e| Failure::lease(&e, manager.config()))?;
    let view = SnapshotView::new(&snapshot, std::time::SystemTime::now());
    match args.output {
        ViewOutput::Text => println!("{}", view.text()),
        ViewOutput::Json => println!("{}", view.json()?),
    }
    Ok(0)
}
