//! ALOG_SYNC=1 forces synchronous mode (its own test binary: it sets the environment).

#[test]
fn alog_sync_env_forces_sync_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.log");
    std::env::set_var("ALOG_SYNC", "1");
    let log = alog_core::Logger::builder().path(&path).build().unwrap();
    std::env::remove_var("ALOG_SYNC");
    assert!(log.is_sync());
    log.info("now");
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
    let async_log = alog_core::Logger::builder()
        .path(dir.path().join("f.log"))
        .build()
        .unwrap();
    assert!(!async_log.is_sync());
}
