// Sends track, identify and page calls to tally through Segment's own
// Node library, as a customer's backend would. Used by
// tests/integration/test_segment_client.py.
//
//   node send.mjs HOST WRITE_KEY PREFIX
//
// HOST is tally's base URL (http://127.0.0.1:PORT). Message ids are
// PREFIX-track, PREFIX-identify, PREFIX-page, PREFIX-screen. Exits 0 once
// every call was delivered (2xx), 1 on any delivery error.
import { Analytics } from '@segment/analytics-node'

const [host, writeKey, prefix] = process.argv.slice(2)
if (!host || !writeKey || !prefix) {
  console.error('usage: node send.mjs HOST WRITE_KEY PREFIX')
  process.exit(2)
}
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(host)) {
  console.error('send.mjs: HOST must be http://127.0.0.1:PORT')
  process.exit(2)
}

const analytics = new Analytics({ writeKey, host, maxEventsInBatch: 10, flushInterval: 200, maxRetries: 1 })
let failed = 0
analytics.on('error', (err) => {
  failed++
  console.error('delivery error:', err.code || '', err.reason ? String(err.reason) : '')
})

analytics.identify({
  userId: prefix + '-user',
  messageId: prefix + '-identify',
  traits: { email: 'node@example.com', plan: 'gold' },
})
analytics.track({
  userId: prefix + '-user',
  messageId: prefix + '-track',
  event: 'Order Completed',
  properties: { order_id: 'ORD-1', revenue: 499, currency: 'INR' },
})
analytics.page({
  anonymousId: prefix + '-anon',
  messageId: prefix + '-page',
  name: 'Pricing',
  properties: { path: '/pricing' },
})
analytics.screen({
  userId: prefix + '-user',
  messageId: prefix + '-screen',
  name: 'Home',
})

await analytics.closeAndFlush({ timeout: 20000 })
process.exit(failed ? 1 : 0)
