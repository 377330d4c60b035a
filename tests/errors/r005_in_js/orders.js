cube('Orders', {
  sql: `SELECT * FROM orders`,
  measures: {
    count: {
      type: 'cnt',
    },
  },
});
