//! Response bodies written by blocking code while they are sent, for documents too large to
//! build in memory first (the state export).

use std::io::{self, Write};

use axum::body::{Body, Bytes};
use tokio::sync::mpsc;

/// Bytes gathered before a chunk is handed to the connection.
const CHUNK_BYTES: usize = 64 * 1024;

/// Chunks waiting for the connection at most: a slow client holds back the writer instead of
/// letting the document pile up in memory.
const CHUNKS_IN_FLIGHT: usize = 4;

/// A body produced by `write` on a blocking thread (never on the async workers, so requests
/// keep being answered while it runs), sent chunk by chunk as it is written. If the client
/// goes away, the writer's next write fails and `write` stops early.
pub fn blocking_body<F>(write: F) -> Body
where
    F: FnOnce(&mut ChunkWriter) -> io::Result<()> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut writer = ChunkWriter {
            buffer: Vec::with_capacity(CHUNK_BYTES),
            sender,
        };
        let result = write(&mut writer).and_then(|()| writer.flush());
        if let Err(err) = result {
            if err.kind() != io::ErrorKind::BrokenPipe {
                tracing::error!(%err, "a streamed response failed part-way");
                // The body ends in an error, so the client sees the response cut, not whole.
                let _ = writer.sender.blocking_send(Err(err));
            }
        }
    });
    Body::from_stream(futures::stream::unfold(receiver, |mut receiver| async {
        let chunk = receiver.recv().await?;
        Some((chunk, receiver))
    }))
}

/// Where [`blocking_body`]'s writer writes: it hands the bytes on in chunks.
#[derive(Debug)]
pub struct ChunkWriter {
    buffer: Vec<u8>,
    sender: mpsc::Sender<io::Result<Bytes>>,
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES));
        self.sender
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}
