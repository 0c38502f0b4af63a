//! Container identity from a cgroup v2 path, by the layouts container
//! runtimes use. The kernel's `container` rule condition applies the same
//! component rule (kmod/rulematch.c), so that what `container=` shows is
//! what `container=` in a rule matches.
//!
//! A component names a container when, after an optional `.scope`
//! suffix is set aside, it is
//!
//! - `docker-<id>` (docker, systemd cgroup driver),
//! - `cri-containerd-<id>` (containerd's CRI plugin),
//! - `crio-<id>` (CRI-O),
//! - `libpod-<id>` (podman),
//!
//! with `<id>` 64 lowercase hex digits; or `machine-<name>.scope`
//! (systemd-machined: systemd-nspawn, libvirt), `<name>` as it appears
//! (systemd's `\x2d` escapes kept); or the whole component is 64 hex
//! digits (cgroupfs drivers: `/docker/<id>`, `/kubepods/.../pod<uid>/<id>`,
//! containerd's `/<namespace>/<id>`). The deepest such component wins:
//! a container started inside another is the inner one. Monitor scopes
//! (`libpod-conmon-<id>`, `crio-conmon-<id>`) are not containers.

/// Which runtime a container's cgroup layout points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Runtime {
    Docker,
    Containerd,
    Crio,
    Podman,
    /// systemd-machined (systemd-nspawn, libvirt).
    Machined,
    /// Kubernetes with the cgroupfs driver: containerd or CRI-O.
    Cri,
    /// A bare 64-hex-digit cgroup with no telling parent.
    Unknown,
}

impl Runtime {
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Containerd => "containerd",
            Runtime::Crio => "crio",
            Runtime::Podman => "podman",
            Runtime::Machined => "machined",
            Runtime::Cri => "cri",
            Runtime::Unknown => "unknown",
        }
    }
}

/// A container found in a cgroup path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Container {
    pub runtime: Runtime,
    /// The id as rules match it (see the module documentation).
    pub id: String,
}

const PREFIXES: [(&str, Runtime); 4] = [
    ("docker-", Runtime::Docker),
    ("cri-containerd-", Runtime::Containerd),
    ("crio-", Runtime::Crio),
    ("libpod-", Runtime::Podman),
];

/// Exactly 64 lowercase hex digits.
pub fn is_hex64(s: &[u8]) -> bool {
    s.len() == 64
        && s.iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// The container id one cgroup component names, with the runtime its
/// prefix tells (`None` for a bare id: see [`container_of`]).
pub fn component_id(name: &[u8]) -> Option<(&[u8], Option<Runtime>)> {
    let base = name.strip_suffix(b".scope");
    let scope = base.is_some_and(|b| !b.is_empty());
    let base = if scope { base.unwrap() } else { name };
    for (p, rt) in PREFIXES {
        if let Some(id) = base.strip_prefix(p.as_bytes()) {
            if is_hex64(id) {
                return Some((id, Some(rt)));
            }
        }
    }
    if scope {
        if let Some(id) = base.strip_prefix(b"machine-") {
            if !id.is_empty() {
                return Some((id, Some(Runtime::Machined)));
            }
        }
    }
    is_hex64(name).then_some((name, None))
}

/// The id of the deepest container component of `path`, as the kernel's
/// `container` condition sees it.
pub fn container_id(path: &[u8]) -> Option<&[u8]> {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .filter_map(|c| component_id(c).map(|(id, _)| id))
        .next_back()
}

/// The runtime a bare id's parent component points to.
fn bare_runtime(parent: &[u8]) -> Runtime {
    if parent == b"docker" {
        Runtime::Docker
    } else if parent.starts_with(b"pod") || parent.starts_with(b"kubepods") {
        Runtime::Cri
    } else if parent == b"libpod_parent" {
        Runtime::Podman
    } else {
        Runtime::Unknown
    }
}

/// The container a cgroup path belongs to, if any.
pub fn container_of(path: &str) -> Option<Container> {
    let comps: Vec<&[u8]> = path
        .as_bytes()
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    for (i, c) in comps.iter().enumerate().rev() {
        if let Some((id, rt)) = component_id(c) {
            let runtime =
                rt.unwrap_or_else(|| bare_runtime(if i > 0 { comps[i - 1] } else { b"" }));
            return Some(Container {
                runtime,
                id: String::from_utf8_lossy(id).into_owned(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899";

    fn c(path: &str) -> Option<(Runtime, String)> {
        container_of(path).map(|c| (c.runtime, c.id))
    }

    #[test]
    fn common_layouts() {
        let id = ID.to_string();
        assert_eq!(
            c(&format!("/system.slice/docker-{ID}.scope")),
            Some((Runtime::Docker, id.clone()))
        );
        assert_eq!(
            c(&format!("/docker/{ID}")),
            Some((Runtime::Docker, id.clone()))
        );
        assert_eq!(
            c(&format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice/cri-containerd-{ID}.scope")),
            Some((Runtime::Containerd, id.clone()))
        );
        assert_eq!(
            c(&format!("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podab.slice/crio-{ID}.scope")),
            Some((Runtime::Crio, id.clone()))
        );
        assert_eq!(
            c(&format!("/kubepods/burstable/pod0a1b/{ID}")),
            Some((Runtime::Cri, id.clone()))
        );
        assert_eq!(
            c(&format!("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope/container")),
            Some((Runtime::Podman, id.clone()))
        );
        assert_eq!(
            c(&format!("/machine.slice/libpod-{ID}.scope")),
            Some((Runtime::Podman, id.clone()))
        );
        assert_eq!(
            c(&format!("/libpod_parent/libpod-{ID}")),
            Some((Runtime::Podman, id.clone()))
        );
        assert_eq!(
            c(&format!("/default/{ID}")),
            Some((Runtime::Unknown, id.clone()))
        );
        assert_eq!(
            c("/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope"),
            Some((Runtime::Machined, "qemu\\x2d1\\x2dvm1".to_string()))
        );
        assert_eq!(
            c("/machine.slice/machine-web.scope/payload"),
            Some((Runtime::Machined, "web".into()))
        );
    }

    #[test]
    fn not_containers() {
        for p in [
            "/",
            "",
            "/system.slice/sshd.service",
            "/user.slice/user-1000.slice/session-2.scope",
            "/system.slice/docker.service",
            &format!("/machine.slice/libpod-conmon-{ID}.scope"),
            &format!("/system.slice/crio-conmon-{ID}.scope"),
            &format!("/system.slice/docker-{}.scope", &ID[..63]),
            &format!("/docker/{}", ID.to_uppercase()),
            "/machine.slice/machine-.scope",
            "/machine.slice/machine-x",
            "/run-r1234.scope",
        ] {
            assert_eq!(c(p), None, "{p}");
            assert_eq!(container_id(p.as_bytes()), None, "{p}");
        }
    }

    #[test]
    fn deepest_component_wins() {
        let inner = "a".repeat(64);
        let p = format!("/system.slice/docker-{ID}.scope/docker/{inner}");
        assert_eq!(c(&p), Some((Runtime::Docker, inner.clone())));
        assert_eq!(container_id(p.as_bytes()), Some(inner.as_bytes()));
    }

    #[test]
    fn scope_suffix_alone_is_no_name() {
        assert_eq!(component_id(b".scope"), None);
        assert_eq!(
            component_id(format!("docker-{ID}").as_bytes()).map(|x| x.0),
            Some(ID.as_bytes())
        );
    }
}
