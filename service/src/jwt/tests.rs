//! The role template ids of `wids`, tried on the private mapping.

use super::{Wid, wid};

#[test]
fn every_role_the_crate_knows_has_its_template_id_and_unknown_ids_fail_closed() {
    use temporary_access_pass::DirectoryRole;
    let mapped: Vec<DirectoryRole> = [
        "62e90394-69f5-4237-9190-012177145e10",
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
        "0526716b-113d-4c15-b2c8-68e3c22b9f80",
        "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
        "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
        "95e79109-95c0-4d8e-aee3-d01accf2d47b",
        "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b",
        "966707d0-3269-4727-9be2-8c3a10f19b9d",
        "4a5d8f65-41da-4de4-8968-e035b65339cf",
        "27460883-1df1-4691-b032-3b79643e5e63",
        "75934031-6c7e-415a-99d7-48dbd49e875e",
        "5d6b6bb7-de71-4623-b4af-96380a352509",
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
    ]
    .iter()
    .filter_map(|t| match wid(t) {
        Some(Wid::Role(role)) => Some(role),
        _ => None,
    })
    .collect();
    let known: Vec<DirectoryRole> = DirectoryRole::ALL
        .into_iter()
        .filter(|r| *r != DirectoryRole::OtherAdministrator)
        .collect();
    assert_eq!(
        mapped, known,
        "one template id per role, in the crate's order"
    );
    assert!(
        wid("e8611ab8-c189-46e8-94e1-60213ab1f814").is_none(),
        "Privileged Role Administrator is not known here"
    );
}
