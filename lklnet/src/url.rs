//! `http://HOST[:PORT][/PATH]` URLs, and their hosts as addresses (an IP
//! literal, or a name given with --resolve: there is no DNS resolver).
use std::net::{IpAddr, SocketAddr};

#[derive(Debug)]
pub struct Url {
    pub host: String,
    pub port: u16,
    /// The request target: the path and query, `/` when none.
    pub target: String,
}

impl Url {
    pub fn parse(text: &str) -> Result<Url, String> {
        let rest = match text.split_once("://") {
            Some(("http", rest)) => rest,
            Some(("https", _)) => {
                return Err(format!("{text}: https is not supported (no TLS yet)"))
            }
            Some((scheme, _)) => return Err(format!("{text}: {scheme} is not supported")),
            None => text,
        };
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        let target = if target.starts_with('?') {
            format!("/{target}")
        } else {
            target
        };
        if target.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(format!("{text}: spaces or control characters in the path"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("{text}: no ] after the IPv6 address"))?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() || host.contains('@') {
            return Err(format!("{text}: no host"));
        }
        let port = match port {
            None => 80,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| format!("{text}: {p} is not a port"))?,
        };
        Ok(Url {
            host: host.to_ascii_lowercase(),
            port,
            target,
        })
    }

    pub fn resolve(&self, names: &[(String, IpAddr)]) -> Result<SocketAddr, String> {
        let ip = match self.host.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => names
                .iter()
                .find(|(n, _)| *n == self.host)
                .map(|(_, ip)| *ip)
                .ok_or_else(|| {
                    format!(
                        "{}: no address (give one with --resolve {}=ADDRESS)",
                        self.host, self.host
                    )
                })?,
        };
        Ok(SocketAddr::new(ip, self.port))
    }

    /// The Host header's value.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Url;

    #[test]
    fn urls() {
        let u = Url::parse("http://10.0.0.1:8080/a/b?c=d").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("10.0.0.1", 8080, "/a/b?c=d")
        );
        let u = Url::parse("http://[fd00::1]/x").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.host_header().as_str()),
            ("fd00::1", 80, "[fd00::1]")
        );
        let u = Url::parse("Example.org").unwrap();
        assert_eq!((u.host.as_str(), u.target.as_str()), ("example.org", "/"));
        assert!(Url::parse("https://a/").unwrap_err().contains("no TLS"));
        assert!(Url::parse("http://a:0/").is_err());
        assert!(Url::parse("http://a:99999/").is_err());
        assert!(Url::parse("http://a/b c").is_err());
        assert!(Url::parse("http:///x").is_err());
        assert!(Url::parse("http://[::1/").is_err());
        assert!(u.resolve(&[]).unwrap_err().contains("--resolve"));
    }
}
