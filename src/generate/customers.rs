//! Made-up customers ([`Params::customers`](super::Params::customers)):
//! which accounts belong to which CRM customer, and the customers' ids.
//!
//! Accounts are walked in id order, one random stream per user chunk: each
//! step either leaves the next account unmatched (probability
//! [`UNMATCHED`]) or starts a customer owning the next 1, 2 or 3 accounts
//! (probabilities 0.95, 0.035, 0.015; a group never crosses a user chunk).
//! So about 81% of accounts have a customer and about 5% of those customers
//! have several accounts. Besides them, [`NO_ACCOUNT_CUSTOMERS_PER_100_USERS`]
//! customers per 100 users have purchases and no account (about 20% of all
//! customers).
//!
//! A customer is identified inside the generator by a key: the first
//! account of its group, `2^32 + j` for the `j`-th customer without an
//! account, `2^35 + n` for the `n`-th customer created by the nights. The
//! key is scrambled by a seeded bijection of 40 bits and written in one of
//! three CRM styles ([`customer_id`]), so ids are distinct and look like
//! `0035e00004fGq1Z`, `CUST-0000482913377`, `cus_Q8hW2kLmZx0aBc`.
//!
//! **Stable:** the walk, its probabilities and the id formula define the
//! datasets, like the rest of the generator.

use super::model::Model;
use super::random::Rng;
use super::USER_CHUNK;
use crate::hash::mix;

/// Probability that a step of the walk leaves an account without customer.
pub(super) const UNMATCHED: f64 = 0.2;
/// Customers without an account, per 100 users: `users * 19 / 100` of them
/// (about a fifth of all customers, the matched ones being about 0.76 per user).
pub const NO_ACCOUNT_CUSTOMERS_PER_100_USERS: u64 = 19;
/// First key of the customers without an account.
pub(super) const NO_ACCOUNT_BASE: u64 = 1 << 32;
/// First key of the customers the nights create.
pub(super) const NIGHT_BASE: u64 = 1 << 35;

const TAG_IDENT: u64 = u64::from_be_bytes(*b"ident\0\0\0");
const MASK40: u64 = (1 << 40) - 1;
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The id of the customer with key `key` (below 2^40) in the dataset of
/// `seed`: `p` = the key xored with the low 40 bits of `mix(seed)`, then
/// scrambled (xorshift-multiply rounds, a bijection of 40 bits); written
/// as `0035e` and 10 base-62 digits of `p` when `p % 3 == 0`, `CUST-`
/// and 13 decimal digits of `p` when 1, `cus_` and 14 base-62 digits of
/// `(mix(p) >> 21) * 2^40 + p` when 2 (random-looking, and `p` is its low
/// 40 bits). Distinct keys give distinct ids.
pub fn customer_id(seed: u64, key: u64) -> String {
    debug_assert!(key <= MASK40);
    let mut p = (key ^ mix(seed)) & MASK40;
    p ^= p >> 21;
    p = p.wrapping_mul(0x9E37_79B9_7F4A_7C15) & MASK40;
    p ^= p >> 17;
    p = p.wrapping_mul(0xBF58_476D_1CE4_E5B9) & MASK40;
    p ^= p >> 20;
    match p % 3 {
        0 => format!("0035e{}", base62(u128::from(p), 10)),
        1 => format!("CUST-{p:013}"),
        _ => {
            let wide = (u128::from(mix(p) >> 21) << 40) | u128::from(p);
            format!("cus_{}", base62(wide, 14))
        }
    }
}

fn base62(mut x: u128, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(x % 62) as usize];
        x /= 62;
    }
    debug_assert_eq!(x, 0);
    String::from_utf8(out).expect("ASCII")
}

impl Model {
    /// Number of customers without an account:
    /// `users * NO_ACCOUNT_CUSTOMERS_PER_100_USERS / 100` (0 without customers).
    pub fn no_account_customers(&self) -> u64 {
        if self.params.customers {
            self.params.users * NO_ACCOUNT_CUSTOMERS_PER_100_USERS / 100
        } else {
            0
        }
    }

    /// The id of the customer with generator key `key`.
    pub(super) fn customer_name(&self, key: u64) -> String {
        customer_id(self.params.seed, key)
    }

    /// The customer groups of user chunk `chunk`: (first account, number of
    /// accounts), in account order. The customer's key is its first account.
    pub(super) fn groups(&self, chunk: usize) -> Vec<(u64, u8)> {
        let lo = chunk as u64 * USER_CHUNK;
        let hi = (lo + USER_CHUNK).min(self.params.users);
        let mut rng = Rng::stream(self.params.seed, TAG_IDENT, chunk as u64);
        let mut groups = Vec::with_capacity(((hi - lo) * 4 / 5) as usize);
        let mut account = lo;
        while account < hi {
            if rng.unit() < UNMATCHED {
                account += 1;
                continue;
            }
            let r = rng.unit();
            let size = if r < 0.95 {
                1
            } else if r < 0.985 {
                2
            } else {
                3
            };
            let size = size.min(hi - account);
            groups.push((account, size as u8));
            account += size;
        }
        groups
    }

    /// The customer key of every account of user chunk `chunk` (index:
    /// account - first account of the chunk), `None` for unmatched ones.
    pub(super) fn owners(&self, chunk: usize) -> Vec<Option<u64>> {
        let lo = chunk as u64 * USER_CHUNK;
        let hi = (lo + USER_CHUNK).min(self.params.users);
        let mut owners = vec![None; (hi - lo) as usize];
        for (first, size) in self.groups(chunk) {
            for account in first..first + u64::from(size) {
                owners[(account - lo) as usize] = Some(first);
            }
        }
        owners
    }

    /// Calls `f(account, customer)` for the accounts of user chunk `chunk`
    /// that have a customer, in account order (nothing without customers).
    pub(super) fn identity_chunk(&self, chunk: usize, mut f: impl FnMut(u64, &str)) {
        if !self.params.customers {
            return;
        }
        for (first, size) in self.groups(chunk) {
            let customer = self.customer_name(first);
            for account in first..first + u64::from(size) {
                f(account, &customer);
            }
        }
    }

    /// Calls `f(account, customer)` for every account that has a customer,
    /// in account order: about 81% of the accounts, a customer's accounts
    /// being consecutive ids (1 to 3 of them). Nothing unless
    /// [`Params::customers`](super::Params::customers). These are the lines of
    /// `identities.csv`. Deterministic: a function of the parameters alone.
    pub fn identities(&self, mut f: impl FnMut(u64, &str)) {
        for chunk in 0..self.adoption_chunks() {
            self.identity_chunk(chunk, &mut f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_and_styled() {
        let mut seen = std::collections::HashSet::new();
        let mut styles = [0u32; 3];
        for key in (0..30_000).chain(NO_ACCOUNT_BASE..NO_ACCOUNT_BASE + 30_000) {
            let id = customer_id(7, key);
            match id.as_bytes()[0] {
                b'0' => {
                    assert_eq!(id.len(), 15, "{id}");
                    styles[0] += 1;
                }
                b'C' => {
                    assert_eq!(id.len(), 18, "{id}");
                    styles[1] += 1;
                }
                _ => {
                    assert!(id.starts_with("cus_") && id.len() == 18, "{id}");
                    styles[2] += 1;
                }
            }
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert!(seen.insert(id), "duplicate id for key {key}");
        }
        assert!(styles.iter().all(|&n| n > 15_000), "{styles:?}");
        assert_ne!(customer_id(7, 1), customer_id(8, 1));
    }
}
