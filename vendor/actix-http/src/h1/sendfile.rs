//! wikidex patch: response bodies sent straight from a file with
//! `sendfile(2)`.
//!
//! A handler that answers with bytes of a file puts a [`SendFileRange`] in
//! the response head's `send_file`, next to an ordinary body of the same
//! bytes.
//! When the connection is a plain TCP stream on Linux, the HTTP/1
//! dispatcher writes the response head with `MSG_MORE` (so head and body
//! leave in the same packets, as nginx's `tcp_nopush`) and then the body
//! with `sendfile`, page cache to socket: no read into a buffer, no copy
//! into the write buffer. Anywhere else the ordinary body is sent as usual,
//! so the field is only ever an optimisation.
//!
//! If the file gets shorter while a body is being sent, `sendfile` stops
//! early and the connection is closed: the client sees a short body, never
//! wrong bytes (checking the file before answering is the handler's job).

use std::{fs::File, sync::Arc};

/// Send `len` bytes of `file` from `offset` as the response body.
///
/// The response's body must be `len` bytes long and hold the same bytes:
/// it is what gets sent when `sendfile` cannot be used.
///
/// ```no_run
/// use std::{fs::File, sync::Arc};
/// use actix_http::{h1::SendFileRange, Response};
///
/// let file = Arc::new(File::open("dump.xml").unwrap());
/// let mut res = Response::ok().set_body(vec![0u8; 10]); // the same 10 bytes, as a fallback
/// res.head_mut().send_file = Some(SendFileRange { file, offset: 0, len: 10 });
/// ```
#[derive(Debug, Clone)]
pub struct SendFileRange {
    /// The file to read.
    pub file: Arc<File>,
    /// Where the body starts in it.
    pub offset: u64,
    /// Body length in bytes.
    pub len: u64,
}

#[cfg(target_os = "linux")]
pub(super) use linux::{poll_send, tcp_stream};

#[cfg(not(target_os = "linux"))]
pub(super) fn tcp_stream<T: 'static>(_io: &T) -> Option<&tokio::net::TcpStream> {
    None
}

#[cfg(not(target_os = "linux"))]
pub(super) fn poll_send(
    _tcp: &tokio::net::TcpStream,
    _head: &mut bytes::BytesMut,
    _range: &mut SendFileRange,
    _cx: &mut std::task::Context<'_>,
) -> std::task::Poll<std::io::Result<()>> {
    unreachable!("tcp_stream is None off Linux")
}

#[cfg(target_os = "linux")]
mod linux {
    use std::{
        any::Any,
        io,
        task::{Context, Poll},
    };

    use bytes::{Buf as _, BytesMut};
    use rustix::net::SendFlags;
    use tokio::{io::Interest, net::TcpStream};

    use super::SendFileRange;

    /// The connection as a TCP stream, when it is one (not TLS, not a test
    /// double): only then is there a socket for `sendfile` to write to.
    pub(in crate::h1) fn tcp_stream<T: 'static>(io: &T) -> Option<&TcpStream> {
        (io as &dyn Any).downcast_ref::<TcpStream>()
    }

    /// Sends `head` (the bytes queued before the body: this response's head,
    /// perhaps earlier pipelined responses), then the file range. Ready once
    /// all of it is in the socket; progress is kept in `head` and `range`
    /// across `Pending`s.
    pub(in crate::h1) fn poll_send(
        tcp: &TcpStream,
        head: &mut BytesMut,
        range: &mut SendFileRange,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if head.is_empty() && range.len == 0 {
                return Poll::Ready(Ok(()));
            }
            let sent = tcp.try_io(Interest::WRITABLE, || {
                if !head.is_empty() {
                    // MSG_MORE: hold the head back for the body's first packet.
                    let n = rustix::net::send(tcp, head, SendFlags::MORE | SendFlags::NOSIGNAL)?;
                    head.advance(n);
                    return Ok(n);
                }
                let count = usize::try_from(range.len).unwrap_or(usize::MAX).min(1 << 30);
                let n = rustix::fs::sendfile(tcp, &*range.file, Some(&mut range.offset), count)?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file ended before the response body did (truncated?)",
                    ));
                }
                range.len -= n as u64;
                Ok(n)
            });
            match sent {
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    // Not writable: wait for it (this registers the waker).
                    if tcp.poll_write_ready(cx)?.is_pending() {
                        return Poll::Pending;
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::{fs::File, io::Write as _, sync::Arc};

    use actix_service::fn_service;
    use tokio::{
        io::{AsyncReadExt as _, AsyncWriteExt as _},
        net::{TcpListener, TcpStream},
    };

    use super::SendFileRange;
    use crate::{
        h1::{Dispatcher, ExpectHandler, UpgradeHandler},
        service::HttpFlow,
        Error, OnConnectData, Request, Response, ServiceConfig,
    };

    /// On a TCP connection the body comes from the file, not from the
    /// ordinary body (which differs here only so the test can tell them
    /// apart), and a response to HEAD gets none, pipelined or not. When
    /// this fails, `/xml` went back to a copy per request (wikidex's
    /// docs/BENCHMARKS.md, "sendfile for /xml") or lost its framing.
    #[actix_rt::test]
    async fn a_file_range_body_is_sent_from_the_file_on_tcp() {
        let path = std::env::temp_dir().join(format!("actix-http-sendfile-{}", std::process::id()));
        File::create(&path).unwrap().write_all(b"0123456789").unwrap();
        let file = Arc::new(File::open(&path).unwrap());
        std::fs::remove_file(&path).unwrap();

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = actix_rt::spawn(async move {
            let (io, _) = listener.accept().await.unwrap();
            let service = fn_service(move |_: Request| {
                let file = Arc::clone(&file);
                async move {
                    let mut res = Response::ok().set_body(&b"fallback"[..]);
                    res.head_mut().send_file = Some(SendFileRange { file, offset: 1, len: 8 });
                    Ok::<_, Error>(res)
                }
            });
            let services = HttpFlow::new(service, ExpectHandler, None::<UpgradeHandler>);
            let dispatcher = Dispatcher::new(
                io,
                services,
                ServiceConfig::default(),
                None,
                OnConnectData::default(),
            );
            dispatcher.await
        });

        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(
                b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n\
                  HEAD /b HTTP/1.1\r\nHost: x\r\n\r\n\
                  GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            )
            .await
            .unwrap();
        let mut answers = Vec::new();
        client.read_to_end(&mut answers).await.unwrap();
        server.await.unwrap().unwrap();

        let answers = String::from_utf8(answers).unwrap();
        let heads_and_bodies: Vec<&str> = answers.split("HTTP/1.1 200 OK\r\n").skip(1).collect();
        assert_eq!(heads_and_bodies.len(), 3, "{answers}");
        for (i, body) in [(0, "12345678"), (1, ""), (2, "12345678")] {
            let answer = heads_and_bodies[i];
            assert!(answer.contains("content-length: 8\r\n"), "{answers}");
            assert!(answer.ends_with(&format!("\r\n\r\n{body}")), "answer {i}: {answers}");
        }
    }
}
