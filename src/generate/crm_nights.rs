//! The customer side of the generated nights: per night an `identities`
//! file (new mappings, remaps) and a `purchases` file (a day of purchases,
//! refunds), valid against the base and the nights before: a `+` mapping
//! only maps an account that is unmapped at that point, a `-` only removes
//! a current mapping or a purchase that is there.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::Path;

use super::customer_files::{push_identity, push_purchase};
use super::customers::{NIGHT_BASE, NO_ACCOUNT_BASE};
use super::nights::write_atomically;
use super::purchases::Draws;
use super::random::hash3;
use super::Model;
use crate::hash::mix;

const TAG_CRM_NIGHT: u64 = u64::from_be_bytes(*b"crmnight");
/// Per 10,000 unmatched accounts, mapped to a new customer each night.
const NEW_MAP_PER_10K: u64 = 50;
/// Per 10,000 matched accounts, remapped each night (half of them get
/// their new customer on the same night, half on the next one).
const REMAP_PER_10K: u64 = 5;
/// Per 10,000 accounts with a customer (and customers without account),
/// a purchase on the night's day.
const BUY_PER_10K: u64 = 50;
/// Per 10,000 purchases of the base, refunded each night (each at most once).
const REFUND_PER_10K: u64 = 5;

/// What changes the customer nights carry from one night to the next.
#[derive(Default)]
pub(super) struct CrmNights {
    /// Accounts whose customer differs from the base: the current one.
    current: HashMap<u64, Option<u64>>,
    /// Accounts unmapped by a remap, mapped again at the next night's start.
    pending: Vec<u64>,
    /// Base purchases refunded so far: (chunk << 32) | index in the chunk.
    refunded: HashSet<u64>,
    /// Customers created by the nights so far.
    fresh: u64,
}

impl CrmNights {
    fn new_customer(&mut self) -> u64 {
        self.fresh += 1;
        NIGHT_BASE + self.fresh - 1
    }

    /// Writes `identities.csv` and `purchases.csv` of night `night` (from 1)
    /// on `day` into `night_dir`; returns their change line counts.
    ///
    /// - identities: first the remaps left open by the night before (`+`
    ///   with a new customer); then, per account in id order, chosen by a
    ///   hash of (seed, night, account): an unmatched account mapped to a new
    ///   customer (0.5%), a matched one remapped (0.05%: `-` its customer,
    ///   then `+` a new one now or at the start of the next night);
    /// - purchases: per account with a customer after those changes and per
    ///   customer without account, a purchase on `day` (0.5%), drawn like
    ///   the base's; then refunds (`-`) of base purchases (0.05%, each
    ///   purchase at most once over all nights), in base order.
    pub(super) fn night(
        &mut self,
        model: &Model,
        night: u64,
        day: i32,
        night_dir: &Path,
    ) -> io::Result<(u64, u64)> {
        let seed = model.params.seed;
        let mut draws = Draws::new(seed, TAG_CRM_NIGHT, night);
        let mut ids: Vec<u8> = b"op,account,customer\n".to_vec();
        let mut buys: Vec<u8> = b"op,customer,day,amount,topic\n".to_vec();
        let (mut id_lines, mut buy_lines) = (0u64, 0u64);
        let buy = |buys: &mut Vec<u8>, draws: &mut Draws, key: u64| {
            let amount = draws.amount();
            let topic = draws.topic(model);
            buys.extend_from_slice(b"+,");
            push_purchase(buys, model, &model.customer_name(key), day, amount, topic);
        };

        for account in std::mem::take(&mut self.pending) {
            let key = self.new_customer();
            ids.extend_from_slice(b"+,");
            push_identity(&mut ids, account, &model.customer_name(key));
            id_lines += 1;
            self.current.insert(account, Some(key));
        }
        for chunk in 0..model.adoption_chunks() {
            let lo = chunk as u64 * super::USER_CHUNK;
            for (i, base) in model.owners(chunk).into_iter().enumerate() {
                let account = lo + i as u64;
                let mut owner = self.current.get(&account).copied().unwrap_or(base);
                let h = hash3(seed ^ TAG_CRM_NIGHT, night, account);
                let roll = h % 10_000;
                match owner {
                    None if roll < NEW_MAP_PER_10K => {
                        let key = self.new_customer();
                        ids.extend_from_slice(b"+,");
                        push_identity(&mut ids, account, &model.customer_name(key));
                        id_lines += 1;
                        owner = Some(key);
                    }
                    Some(old) if roll < REMAP_PER_10K => {
                        ids.extend_from_slice(b"-,");
                        push_identity(&mut ids, account, &model.customer_name(old));
                        id_lines += 1;
                        owner = None;
                        if mix(h) & 1 == 0 {
                            let key = self.new_customer();
                            ids.extend_from_slice(b"+,");
                            push_identity(&mut ids, account, &model.customer_name(key));
                            id_lines += 1;
                            owner = Some(key);
                        } else {
                            self.pending.push(account);
                        }
                    }
                    _ => {}
                }
                if owner != base {
                    self.current.insert(account, owner);
                } else {
                    self.current.remove(&account);
                }
                if let Some(key) = owner {
                    if mix(h ^ 1) % 10_000 < BUY_PER_10K {
                        buy(&mut buys, &mut draws, key);
                        buy_lines += 1;
                    }
                }
            }
        }
        for j in 0..model.no_account_customers() {
            let key = NO_ACCOUNT_BASE + j;
            if hash3(seed ^ TAG_CRM_NIGHT, night, key) % 10_000 < BUY_PER_10K {
                buy(&mut buys, &mut draws, key);
                buy_lines += 1;
            }
        }
        for chunk in 0..model.purchase_chunks() {
            let mut index = 0u64;
            model.purchase_chunk(chunk, |customer, day, amount, topic| {
                let key = ((chunk as u64) << 32) | index;
                index += 1;
                if hash3(seed ^ TAG_CRM_NIGHT, night ^ (1 << 40), key) % 10_000 < REFUND_PER_10K
                    && self.refunded.insert(key)
                {
                    buys.extend_from_slice(b"-,");
                    push_purchase(&mut buys, model, customer, day, amount, topic);
                    buy_lines += 1;
                }
            });
        }
        write_atomically(&night_dir.join("identities.csv"), &ids)?;
        write_atomically(&night_dir.join("purchases.csv"), &buys)?;
        Ok((id_lines, buy_lines))
    }
}
