//! Concurrency: many contenders, one winner.

use std::sync::Arc;

use lease::ReleaseOutcome;

use super::secs;
use crate::backend::Backend;
use crate::harness::Env;

/// Contenders racing per round.
const CONTENDERS: usize = 16;

/// 16 tasks race to acquire one key, round after round: exactly one wins each round, every other
/// gets `Held`, and the winner's release frees the key for the next round.
pub async fn concurrent_acquire_has_one_winner<B: Backend>(backend: &B) {
    let env = Env::new(backend, "race", |c| c).await;
    let key = env.key("CACHE#RACE");
    let managers: Vec<_> = (0..CONTENDERS)
        .map(|i| Arc::new(env.manager(&format!("t{i}"))))
        .collect();
    for round in 0..backend.capabilities().race_rounds {
        let barrier = Arc::new(tokio::sync::Barrier::new(CONTENDERS));
        let tasks: Vec<_> = managers
            .iter()
            .map(|m| {
                let (m, key, barrier) = (m.clone(), key.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    m.try_acquire(key, secs(30)).await
                })
            })
            .collect();
        let mut winners = Vec::new();
        for (i, task) in tasks.into_iter().enumerate() {
            match task.await.unwrap() {
                Ok(lease) => winners.push((i, lease)),
                Err(e) if e.is_held() => {}
                Err(e) => panic!("{} round {round}: unexpected error {e:?}", backend.name()),
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "{} round {round}: {} winners",
            backend.name(),
            winners.len()
        );
        let (i, lease) = &winners[0];
        assert_eq!(
            managers[*i].release(lease).await.unwrap(),
            ReleaseOutcome::Released
        );
    }
}
