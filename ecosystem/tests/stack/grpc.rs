//! tonic on magpie without `tonic::transport`: the generated server served by hyper's
//! HTTP/2 server on magpie connections, the generated client over a tower service on
//! hyper's HTTP/2 client on a magpie `TcpStream`. A unary and a server-streaming call.

use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use magpie::net::TcpListener;
use magpie_ecosystem::echo::echo_client::EchoClient;
use magpie_ecosystem::echo::echo_server::{Echo, EchoServer};
use magpie_ecosystem::echo::{EchoReply, EchoRequest};
use magpie_ecosystem::grpc::{Http2Channel, serve_http2};
use magpie_ecosystem::{assert_no_tokio, deadline};
use tonic::{Code, Request, Response, Status};

struct EchoService;

#[tonic::async_trait]
impl Echo for EchoService {
    async fn unary(&self, req: Request<EchoRequest>) -> Result<Response<EchoReply>, Status> {
        assert_no_tokio();
        let req = req.into_inner();
        if req.message == "fail" {
            return Err(Status::invalid_argument("asked to fail"));
        }
        Ok(Response::new(EchoReply {
            message: req.message,
            index: 0,
        }))
    }

    type StreamStream = Pin<Box<dyn Stream<Item = Result<EchoReply, Status>> + Send>>;

    async fn stream(
        &self,
        req: Request<EchoRequest>,
    ) -> Result<Response<Self::StreamStream>, Status> {
        let req = req.into_inner();
        // One reply per millisecond, on magpie's timer.
        let replies = futures_util::stream::unfold(0, move |index| {
            let message = req.message.clone();
            async move {
                if index == req.count {
                    return None;
                }
                magpie::time::sleep(Duration::from_millis(1)).await;
                let reply = EchoReply {
                    message: format!("{message} #{index}"),
                    index,
                };
                Some((Ok(reply), index + 1))
            }
        });
        Ok(Response::new(Box::pin(replies)))
    }
}

async fn grpc_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = EchoServer::new(EchoService);
    magpie::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            stream.set_nodelay(true).unwrap();
            let service = service.clone();
            magpie::spawn(async move { serve_http2(stream, service).await.unwrap() });
        }
    });
    addr
}

#[magpie::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_and_server_streaming_calls() {
    assert_no_tokio();
    deadline(60, async {
        let addr = grpc_server().await;
        let channel = Http2Channel::connect(addr).await.unwrap();
        let mut client =
            EchoClient::with_origin(channel, format!("http://{addr}").parse().unwrap());

        let reply = client
            .unary(EchoRequest {
                message: "hello".into(),
                count: 0,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reply.message, "hello");

        let status = client
            .unary(EchoRequest {
                message: "fail".into(),
                count: 0,
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "asked to fail");

        let mut stream = client
            .stream(EchoRequest {
                message: "tick".into(),
                count: 25,
            })
            .await
            .unwrap()
            .into_inner();
        let mut seen = 0;
        while let Some(reply) = stream.next().await {
            let reply = reply.unwrap();
            assert_eq!(reply.index, seen);
            assert_eq!(reply.message, format!("tick #{seen}"));
            seen += 1;
        }
        assert_eq!(seen, 25);

        // 32 calls at once on one HTTP/2 connection (clones share it).
        let calls: Vec<_> = (0..32)
            .map(|i| {
                let mut client = client.clone();
                magpie::spawn(async move {
                    let message = format!("call {i}");
                    let reply = client
                        .unary(EchoRequest {
                            message: message.clone(),
                            count: 0,
                        })
                        .await
                        .unwrap();
                    assert_eq!(reply.into_inner().message, message);
                })
            })
            .collect();
        for c in calls {
            c.await.unwrap();
        }
    })
    .await;
}
