//! What a `no_std` driver supplies itself: the global allocator (tagged
//! non-paged pool) and the panic handler. A Rust panic is a bug in the
//! driver; it is contained like a Linux panic: the kernel is marked dead,
//! the thread parks, and requests fail from then on.
use core::fmt::Write;

#[global_allocator]
static ALLOCATOR: lkl_ntk::pool::PoolAllocator = lkl_ntk::pool::PoolAllocator;

struct Text<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Write for Text<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let mut buf = [0u8; 200];
    let mut text = Text {
        buf: &mut buf,
        len: 0,
    };
    let _ = write!(text, "lklfsd: {info}");
    let len = text.len;
    lkl_ntk::death::die(core::str::from_utf8(&buf[..len]).unwrap_or("lklfsd: panic"))
}
