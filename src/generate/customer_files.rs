//! `identities.csv` and `purchases.csv`: the lines of
//! [`Model::identities`] and of every [`Model::purchase_chunk`] in chunk
//! order, formatted on worker threads and written in order.

use std::io;
use std::path::PathBuf;

use super::parallel::parallel_ordered;
use super::purchases::format_amount;
use super::write::{push_iso_day, push_topic, push_u64, Out};
use super::{Model, USER_CHUNK};

/// Appends `customer,YYYY-MM-DD,amount[,topic]\n` (no fourth field
/// without a topic).
pub(super) fn push_purchase(
    buf: &mut Vec<u8>,
    model: &Model,
    customer: &str,
    day: i32,
    amount: i64,
    topic: Option<u32>,
) {
    buf.extend_from_slice(customer.as_bytes());
    buf.push(b',');
    push_iso_day(buf, day);
    buf.push(b',');
    buf.extend_from_slice(format_amount(amount).as_bytes());
    if let Some(t) = topic {
        buf.push(b',');
        push_topic(buf, model, t);
    }
    buf.push(b'\n');
}

/// Appends `account,customer\n`.
pub(super) fn push_identity(buf: &mut Vec<u8>, account: u64, customer: &str) {
    push_u64(buf, account);
    buf.push(b',');
    buf.extend_from_slice(customer.as_bytes());
    buf.push(b'\n');
}

/// Writes the identities to `temps[0]` and the purchases to `temps[1]`;
/// reports progress in users (`step` per chunk of accounts, half for the
/// identities, half for the purchases). Returns the line counts.
pub(super) fn write(
    model: &Model,
    temps: &[PathBuf],
    threads: usize,
    progress: &mut dyn FnMut(u64),
) -> io::Result<(u64, u64)> {
    let users = model.params.users;
    let chunk_users = |c: usize| USER_CHUNK.min(users - c as u64 * USER_CHUNK);
    let mut identities = Out::create(&temps[0])?;
    identities.buf.extend_from_slice(b"account,customer\n");
    let mut identity_lines = 0;
    parallel_ordered(
        model.adoption_chunks(),
        threads,
        |c| {
            let mut buf = Vec::new();
            let mut lines = 0u64;
            model.identity_chunk(c, |account, customer| {
                push_identity(&mut buf, account, customer);
                lines += 1;
            });
            (buf, lines)
        },
        |c, (buf, lines)| {
            identity_lines += lines;
            identities.write(&buf)?;
            progress(chunk_users(c) / 2);
            Ok(())
        },
    )?;
    identities.finish()?;

    let mut purchases = Out::create(&temps[1])?;
    purchases
        .buf
        .extend_from_slice(b"customer,day,amount,topic\n");
    let mut purchase_lines = 0;
    let account_chunks = model.adoption_chunks();
    parallel_ordered(
        model.purchase_chunks(),
        threads,
        |c| {
            let mut buf = Vec::new();
            let mut lines = 0u64;
            model.purchase_chunk(c, |customer, day, amount, topic| {
                push_purchase(&mut buf, model, customer, day, amount, topic);
                lines += 1;
            });
            (buf, lines)
        },
        |c, (buf, lines)| {
            purchase_lines += lines;
            purchases.write(&buf)?;
            if c < account_chunks {
                progress(chunk_users(c) - chunk_users(c) / 2);
            }
            Ok(())
        },
    )?;
    purchases.finish()?;
    Ok((identity_lines, purchase_lines))
}
